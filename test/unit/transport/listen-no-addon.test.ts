// A Unix-socket listener refuses to start when the native peer-credential addon cannot be loaded, instead of
// accepting connections it can only refuse (on unix+tls:// in plain text, which a TLS client reads as "wrong
// version number"); nothing is left on disk. Control: the same listen with the addon in place starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listen } from '../../../src/transport/listener.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/test/unit/transport
const pkgRoot = resolve(here, '../../../..');

/** A copy of the built src/ in a package without build/Release (the addon), sharing node_modules. */
function packageWithoutAddon(dir: string): string {
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  cpSync(resolve(here, '../../../src'), join(pkg, 'dist', 'src'), { recursive: true });
  copyFileSync(join(pkgRoot, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(pkgRoot, 'node_modules'), join(pkg, 'node_modules'));
  return pkg;
}

const noUpgrader = { upgrade: () => Promise.reject(new Error('no TLS in this test')) };

test('without the addon, unix:// and unix+tls:// listeners refuse to start and create no socket; with it they start (control)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-noaddon-'));
  try {
    const pkg = packageWithoutAddon(dir);
    assert.ok(!existsSync(join(pkg, 'build')), 'the copy has no addon');
    const bare = await import(pathToFileURL(join(pkg, 'dist', 'src', 'transport', 'listener.js')).href) as { listen: typeof listen };
    for (const [url, opts] of [[`unix://${join(dir, 'a.sock')}`, {}], [`unix+tls://${join(dir, 'b.sock')}`, { secure: noUpgrader }]] as const) {
      await assert.rejects(bare.listen(url, { ...opts, onConnection: () => undefined } as never), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'FLYME_NATIVE_UNAVAILABLE', e.message);
        assert.match(e.message, /cannot listen on unix(\+tls)?:\/\/.*native peer-credential addon not found/);
        return true;
      });
    }
    assert.ok(!existsSync(join(dir, 'a.sock')) && !existsSync(join(dir, 'b.sock')), 'no socket file left behind');
    // Control: the built package (addon present) listens on the same kind of address.
    const l = await listen(`unix://${join(dir, 'c.sock')}`, { onConnection: () => undefined });
    assert.ok(existsSync(join(dir, 'c.sock')));
    await l.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
