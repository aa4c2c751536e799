// Verifying an audit log copied away from the daemon's host (no key beside it) says to pass --pubkey (a copy of
// audit-key.pub.pem), instead of a bare "cannot read audit public key …: ENOENT". Control: with --pubkey the
// copy verifies; `flyme audit` help and output no longer say "use deep".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, tempDir } from '../helpers/daemon.js';

test('a copied audit log points to --pubkey', { timeout: 60_000 }, async () => {
  const d = await startDaemon([], { dir: tempDir('flyme-audit-d-') }); // kept after stop: the log is copied from it
  const copy = tempDir('flyme-audit-copy-');
  try {
    assert.equal((await runCli(['--connect', d.url, 'ping'])).code, 0);
    const audit = await runCli(['--connect', d.url, 'audit']);
    assert.doesNotMatch(audit.stdout + audit.stderr, /use deep/);
    await d.stop();
    copyFileSync(join(d.dir, 'audit', 'audit.log'), join(copy, 'audit.log'));
    const pub = join(copy, 'elsewhere.pub.pem');
    copyFileSync(join(d.dir, 'audit', 'audit-key.pub.pem'), pub);

    const bare = await runCli(['audit-log', 'verify', join(copy, 'audit.log')]);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /no audit public key at .*audit-key\.pub\.pem \(a copied log\?\): pass --pubkey FILE/);
    const pinned = await runCli(['audit-log', 'verify', join(copy, 'audit.log'), '--pubkey', pub]);
    assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
    assert.match(pinned.stdout, /^OK: /);
  } finally {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
    rmSync(copy, { recursive: true, force: true });
  }
});
