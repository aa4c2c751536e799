// Self-audit repairs never land on another file: a file swapped for a symbolic link (or for another file)
// between the check and the fix is refused and the link's target keeps its mode; the unchanged file is
// fixed (control). Checks report a link as a link and never plan a fix through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDirectory, checkPolicyFile, checkPrivateKey } from '../../../src/daemon/self-audit/checks.js';
import { FixRefused, applyFix } from '../../../src/daemon/self-audit/fix.js';

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-fix-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a key swapped for a link after the check: the fix is refused, the target keeps 0644', () => withDir(async (dir) => {
  const key = join(dir, 'server.key.pem');
  writeFileSync(key, 'k', { mode: 0o644 });
  chmodSync(key, 0o644);
  const [f] = await checkPrivateKey(key);
  assert.ok(f?.fix, 'control: a real 0644 key is fixable');
  const other = join(dir, 'other.txt');
  writeFileSync(other, 'public', { mode: 0o644 });
  chmodSync(other, 0o644);
  unlinkSync(key);
  symlinkSync(other, key);
  await assert.rejects(applyFix(f.fix!), (e: Error) => e instanceof FixRefused && /symbolic link/.test(e.message));
  assert.equal(statSync(other).mode & 0o777, 0o644, 'the link target was not re-moded');
}));

test('a file replaced by another file after the check: refused; the checked file itself: fixed', () => withDir(async (dir) => {
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'roles: {}\n');
  chmodSync(policy, 0o666);
  const [f] = await checkPolicyFile(policy);
  const fresh = join(dir, 'fresh.yaml');
  writeFileSync(fresh, 'roles: {}\n');
  chmodSync(fresh, 0o666);
  renameSync(fresh, policy);
  await assert.rejects(applyFix(f!.fix!), FixRefused);
  assert.equal(statSync(policy).mode & 0o777, 0o666);
  const [g] = await checkPolicyFile(policy);
  await applyFix(g!.fix!);
  assert.equal(statSync(policy).mode & 0o777, 0o644, 'control: the checked file is fixed');
}));

test('links are findings with no fix; a loose directory is fixable, /tmp-like sticky ones are not', () => withDir(async (dir) => {
  const target = join(dir, 'target.yaml');
  writeFileSync(target, 'roles: {}\n');
  chmodSync(target, 0o666);
  const link = join(dir, 'policy.yaml');
  symlinkSync(target, link);
  const fs = await checkPolicyFile(link);
  assert.deepEqual(fs.map((f) => f.id), [`link:${link}`, `policy:${link}`]);
  assert.ok(fs.every((f) => !f.fixable && !f.fix), 'nothing is fixed through a link');
  assert.match(fs[1]!.message, /writable by everyone.*through the link/);

  chmodSync(dir, 0o777);
  const [d] = await checkDirectory(dir, ['audit log directory']);
  assert.equal(d?.severity, 'critical');
  assert.ok(d?.fix);
  chmodSync(dir, 0o1777);
  const [s] = await checkDirectory(dir, ['audit log directory']);
  assert.equal(s?.severity, 'critical');
  assert.equal(s?.fix, undefined, 'a sticky shared directory is never re-moded');
  const [ok] = await checkDirectory(dir, ['socket directory'], { sharedStickyOk: true });
  assert.equal(ok?.severity, 'info');
  chmodSync(dir, 0o700);
}));
