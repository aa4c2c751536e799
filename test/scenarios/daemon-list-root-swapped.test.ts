// A list root inside a directory its caller owns (a home directory, a sticky /tmp): the caller swaps the root
// itself, or the directory above it, for a symlink to a directory only root may read. flymed resolved the
// roots when the policy loaded, and opens along them following no link: the swapped root is refused and the
// link's target does not become a root (before the fix, `list` followed the link and listed the target, and
// listing the target directly was allowed too). Control: the root lists while it is a directory, before the
// swap and after it is undone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { FlyMeError } from '../../src/errors.js';
import { startDaemon, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

/** Runs `js` as uid/gid 65534 (the caller who owns the directory around its root). */
function asNobody(js: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, ['-e', js, ...args], { ...NOBODY, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

async function refusal(p: Promise<unknown>): Promise<FlyMeError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FlyMeError, String(e));
    return e;
  }
  assert.fail('the call was not refused');
}

test('a list root swapped for a symlink after the policy loaded is refused, and its target is no root', { skip: !isRoot && 'needs root to act as uid 65534', timeout: 60_000 }, async () => {
  const dir = tempDir();
  const home = join(dir, 'home');
  const share = join(home, 'share');
  const secret = join(dir, 'secret');
  chmodSync(dir, 0o755); // 65534 reaches home
  mkdirSync(share, { recursive: true });
  writeFileSync(join(share, 'mine'), '');
  chownSync(home, NOBODY.uid, NOBODY.gid);
  chownSync(share, NOBODY.uid, NOBODY.gid);
  mkdirSync(secret, { mode: 0o700 });
  chmodSync(secret, 0o700);
  writeFileSync(join(secret, 'root-only'), '');
  const policy = join(dir, 'policy.yaml');
  // The lister is root on this socket (the test's own uid); the files around the root belong to 65534.
  writeFileSync(policy, `roles:\n  lister: { methods: [list], list: { roots: [${share}] } }\nbindings:\n  - { uid: 0, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0600', '--policy', policy], { dir });
  const client = await connect(d.url, { callTimeoutMs: 10_000 });
  const names = (r: unknown) => ((r as { results: Array<{ entries: Array<{ name: string }> }> }).results[0]!.entries.map((e) => e.name));
  try {
    assert.deepEqual(names(await client.call('list', { paths: [share] })), ['mine'], 'control: the root lists while it is a directory');
    assert.match((await refusal(client.call('list', { paths: [secret] }))).message, /not under your list roots/);

    // The owner of home swaps share for a link to the root-only directory.
    asNobody("const fs=require('node:fs');const [h,s]=process.argv.slice(1);fs.renameSync(h+'/share',h+'/share.old');fs.symlinkSync(s,h+'/share')", home, secret);
    for (const p of [share, join(share, 'root-only')]) {
      const e = await refusal(client.call('list', { paths: [p] }));
      assert.equal(e.code, 'FLYME_PERMISSION_DENIED', p);
      assert.match(e.message, /symbolic link/, p);
      assert.ok(!e.message.includes('secret'), `the link's target is not shown: ${e.message}`);
    }
    assert.match((await refusal(client.call('list', { paths: [secret] }))).message, /not under your list roots/, 'the target is no root');

    // Or the directory above the root: home swapped for a link to a tree it built elsewhere.
    asNobody("const fs=require('node:fs');const [h,s]=process.argv.slice(1);fs.unlinkSync(h+'/share');fs.renameSync(h+'/share.old',h+'/share')", home, secret);
    assert.deepEqual(names(await client.call('list', { paths: [share] })), ['mine'], 'control: a directory again');
    const outside = join(dir, 'outside');
    mkdirSync(join(outside, 'share'), { recursive: true });
    writeFileSync(join(outside, 'share', 'planted'), '');
    // dir is root's, so root stands in for a caller who owns the directory above the root's parent.
    assert.equal(spawnSync('mv', [home, join(dir, 'home.old')]).status, 0);
    assert.equal(spawnSync('ln', ['-s', outside, home]).status, 0);
    assert.match((await refusal(client.call('list', { paths: [share] }))).message, /symbolic link/);
  } finally {
    await client.close();
    await d.stop();
  }
});
