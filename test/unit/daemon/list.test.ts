// listPath: the root is chosen lexically before the path is touched (as configured or by its realpath at load,
// path-segment aware, `/` for admins), the directory is opened beneath it, and nothing outside is revealed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPath, resolveRoots, type ResolvedRoot } from '../../../src/daemon/list.js';
import { FlyMeError } from '../../../src/errors.js';
import { peerCredentialsAvailable } from '../../../src/transport/peercred.js';

const skip = !peerCredentialsAvailable() && 'native addon not built';

function fixture(): { dir: string; root: string; done(): void } {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'flyme-list-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'a', 'b', 'marker'), 'x');
  chmodSync(join(root, 'a', 'b', 'marker'), 0o640);
  writeFileSync(join(root, 'file'), 'x');
  mkdirSync(join(dir, 'rootx'));
  mkdirSync(join(dir, 'outside'));
  symlinkSync(join(dir, 'outside'), join(root, 'out'));
  symlinkSync(root, join(dir, 'root-link'));
  return { dir, root, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Roots as the daemon holds them: resolved once, when the policy loads. */
const R = async (...roots: string[]): Promise<ResolvedRoot[]> => [...(await resolveRoots(roots)).values()];

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string } | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    assert.ok(e instanceof FlyMeError, String(e));
    return { code: e.code, message: e.message };
  }
}

test('listPath: refused lexically outside the roots, with one error whether the path exists or not', { skip }, async () => {
  const f = fixture();
  try {
    const roots = await R(f.root);
    const paths = [join(f.dir, 'outside'), join(f.dir, 'missing'), `${f.root}/../outside`, `${f.root}/a/../../missing`, join(f.dir, 'rootx'), '/etc/passwd', '/no/such/dir'];
    for (const p of paths) {
      assert.deepEqual(await codeOf(listPath(p, roots, 10)), { code: 'FLYME_PERMISSION_DENIED', message: `${p} is not under your list roots [${f.root}]` }, p);
    }
    assert.match((await codeOf(listPath('/etc', await R(), 10)))!.message, /not under your list roots \[none granted\]/);
    assert.equal((await codeOf(listPath('a/b', roots, 10)))!.code, 'FLYME_INVALID_PARAMS');
    assert.equal((await codeOf(listPath(`${f.root}/a\0`, roots, 10)))!.code, 'FLYME_INVALID_PARAMS');
  } finally {
    f.done();
  }
});

test('listPath: inside a root, links are refused without their target; missing and non-directories say so', { skip }, async () => {
  const f = fixture();
  try {
    for (const p of [join(f.root, 'out'), join(f.root, 'out', 'x')]) {
      const e = (await codeOf(listPath(p, await R(f.root), 10)))!;
      assert.equal(e.code, 'FLYME_PERMISSION_DENIED');
      assert.match(e.message, /symbolic link/);
      assert.ok(!e.message.includes('outside'), `the link's target is not shown: ${e.message}`);
    }
    assert.equal((await codeOf(listPath(join(f.root, 'nope'), await R(f.root), 10)))!.code, 'FLYME_NOT_FOUND');
    assert.equal((await codeOf(listPath(join(f.root, 'file'), await R(f.root), 10)))!.code, 'FLYME_INVALID_PARAMS');
    assert.equal((await codeOf(listPath(join(f.dir, 'gone', 'x'), await R(join(f.dir, 'gone')), 10)))!.code, 'FLYME_NOT_FOUND', 'a missing root');
  } finally {
    f.done();
  }
});

test('listPath: control cases (normalized path, configured or real root, admin root /), no descriptor leaks', { skip }, async () => {
  const f = fixture();
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = process.platform === 'linux' ? fds() : 0;
  try {
    const r = await listPath(`${f.root}/a/./x/../b/`, await R(f.root), 10);
    assert.ok('entries' in r);
    assert.deepEqual(r.entries.map((e) => e.name), ['marker']);
    assert.equal(r.realPath, join(f.root, 'a', 'b'), 'realPath is the lexically normalized path');
    assert.equal(r.entries[0]!.type, 'file');
    assert.equal(r.entries[0]!.mode, '0640');
    // A configured root that is itself a symlink: reachable by its configured name and by its real path.
    const link = join(f.dir, 'root-link');
    for (const p of [join(link, 'a'), join(f.root, 'a')]) {
      const viaLink = await listPath(p, await R(link), 10);
      assert.ok('entries' in viaLink);
      assert.deepEqual(viaLink.entries.map((e) => e.name), ['b']);
    }
    // The admin root `/`.
    const top = await listPath(f.root, await R('/'), 10);
    assert.ok('entries' in top);
    assert.deepEqual(top.entries.map((e) => `${e.name}:${e.type}`), ['a:directory', 'file:file', 'out:symlink']);
    const root = await listPath(f.root, await R(`${f.root}/`), 2);
    assert.ok('entries' in root);
    assert.equal(root.entries.length, 2);
    assert.equal(root.truncated, true);
    for (let i = 0; i < 5; i++) await codeOf(listPath(join(f.root, 'out'), await R(f.root), 10));
    if (process.platform === 'linux') assert.equal(fds(), before);
  } finally {
    f.done();
  }
});

test('listPath: a root swapped for a symlink after the policy loaded is neither followed nor its target added (attack and control)', { skip }, async () => {
  const f = fixture();
  try {
    const share = join(f.dir, 'share');
    mkdirSync(join(share, 'mine'), { recursive: true });
    const roots = await R(share); // the policy loads: share is the caller's own directory
    const control = await listPath(share, roots, 10);
    assert.ok('entries' in control);
    assert.deepEqual(control.entries.map((e) => e.name), ['mine'], 'control: the root as loaded is listed');
    // The caller owns the directory around share: it swaps share for a link to a directory it may not read.
    renameSync(share, join(f.dir, 'share-old'));
    symlinkSync(join(f.dir, 'outside'), share);
    writeFileSync(join(f.dir, 'outside', 'secret'), 'x');
    for (const p of [share, join(share, 'secret')]) {
      const e = (await codeOf(listPath(p, roots, 10)))!;
      assert.equal(e?.code, 'FLYME_PERMISSION_DENIED', p);
      assert.match(e.message, /symbolic link/, p);
      assert.ok(!e.message.includes('outside'), `the link's target is not shown: ${e.message}`);
    }
    // Nor does the link's target become a root (a call-time realpath made it one).
    assert.match((await codeOf(listPath(join(f.dir, 'outside'), roots, 10)))!.message, /not under your list roots/);
  } finally {
    f.done();
  }
});

test('listPath: a parent of the root swapped for a symlink after load is refused too', { skip }, async () => {
  const f = fixture();
  try {
    const home = join(f.dir, 'home');
    mkdirSync(join(home, 'share'), { recursive: true });
    const roots = await R(join(home, 'share'));
    assert.ok('entries' in (await listPath(join(home, 'share'), roots, 10)), 'control');
    renameSync(home, join(f.dir, 'home-old'));
    mkdirSync(join(f.dir, 'elsewhere', 'share'), { recursive: true });
    symlinkSync(join(f.dir, 'elsewhere'), home);
    assert.match((await codeOf(listPath(join(home, 'share'), roots, 10)))!.message, /symbolic link/);
  } finally {
    f.done();
  }
});
