// `flyme audit --fix` never follows a symbolic link: a policy file that is a link to a 0600 file is
// reported as a link and its target keeps 0600 (the old code chmod'ed the target to 0755), while a real
// 0644 key is fixed to 0600 (control). Directories holding flymed's files must be owned by root or the
// daemon: a state directory owned by another uid is a critical finding (control: none before the chown).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startMtlsDaemon, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

interface Finding { id: string; severity: string; message: string; fixable: boolean; fixed: boolean }

test('audit --fix: links reported, never followed; real files fixed; foreign directory owners found', { skip: !isRoot && 'runs as root so that owner checks apply and the daemon can chown' }, async () => {
  const dir = tempDir();
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  const target = join(elsewhere, 'real-policy.yaml');
  writeFileSync(target, 'roles: {}\nbindings:\n  - { uid: 0, roles: [admin] }\n', { mode: 0o600 });
  const policy = join(dir, 'policy.yaml');
  symlinkSync(target, policy);
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o750 });
  const init = await runCli(['certs', 'init', '--dir', join(dir, 'certs')]);
  assert.equal(init.code, 0, init.stderr);
  const m = await startMtlsDaemon(['--policy', policy, '--state-dir', state], { dir, certs: join(dir, 'certs') });
  const audit = async (...a: string[]) => {
    const r = await runCli(['--connect', m.url, '--certs', m.certs, '--json', 'audit', ...a]);
    return { code: r.code, out: JSON.parse(r.stdout || '{}') as { findings: Finding[]; summary: { fixed: number } }, raw: r.stdout + r.stderr };
  };
  const find = (fs: Finding[], id: string) => fs.find((f) => f.id === id);
  try {
    const before = await audit();
    assert.ok(before.out.findings, before.raw);
    const key = join(m.certs, 'server.key.pem');
    chmodSync(key, 0o644);
    const fixed = await audit('--fix');
    assert.equal(statSync(target).mode & 0o777, 0o600, `the link target keeps its mode: ${fixed.raw}`);
    assert.equal(statSync(key).mode & 0o777, 0o600, 'control: the real 0644 key was fixed');
    assert.equal(find(fixed.out.findings, `key:${key}`)?.fixed, true, fixed.raw);
    assert.equal(fixed.out.summary.fixed, 1, fixed.raw);

    for (const r of [before, fixed]) {
      const link = find(r.out.findings, `link:${policy}`);
      assert.ok(link, `the link is a finding: ${r.raw}`);
      assert.equal(link.fixable, false);
      assert.equal(link.fixed, false);
      assert.match(link.message, /symbolic link to .*real-policy\.yaml/);
    }
    assert.equal(find(before.out.findings, `dir-owner:${state}`), undefined, 'control: a root-owned state directory is fine');
    assert.equal(find(before.out.findings, `dir:${state}`)?.severity, 'info');

    chownSync(state, NOBODY.uid, NOBODY.gid);
    const foreign = await audit();
    assert.equal(foreign.code, 1, foreign.raw);
    const owner = find(foreign.out.findings, `dir-owner:${state}`);
    assert.equal(owner?.severity, 'critical', foreign.raw);
    assert.match(owner!.message, /owned by uid 65534.*kill-switch state directory|kill-switch state directory.*owned by uid 65534/);
    assert.equal(owner!.fixable, false, 'owners are never changed automatically');
  } finally {
    await m.d.stop();
  }
});
