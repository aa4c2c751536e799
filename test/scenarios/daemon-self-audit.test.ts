// `flyme audit`: loose key and policy modes are critical findings (exit 1); --fix repairs them, the
// fixes are audited, a second audit is clean (control); --deep finds an edited audit record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startMtlsDaemon, tempDir, isRoot } from '../helpers/daemon.js';

test('self-audit finds, fixes and records', { skip: !isRoot && 'runs as root so that owner checks apply' }, async () => {
  const dir = tempDir();
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'roles: {}\nbindings:\n  - { uid: 0, roles: [admin] }\n');
  const init = await runCli(['certs', 'init', '--dir', join(dir, 'certs')]);
  assert.equal(init.code, 0, init.stderr);
  const m = await startMtlsDaemon(['--policy', policy], { dir, certs: join(dir, 'certs') });
  const cli = (...a: string[]) => runCli(['--connect', m.url, '--certs', m.certs, ...a]);
  try {
    const clean = await cli('--json', 'audit', '--deep');
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const ids = JSON.parse(clean.stdout).findings.map((f: { id: string }) => f.id);
    for (const want of ['privilege', `socket:${m.sock}`, 'audit-chain', 'cert-chain', `policy:${policy}`]) assert.ok(ids.includes(want), `${want} checked`);

    const key = join(m.certs, 'server.key.pem');
    chmodSync(key, 0o644);
    chmodSync(policy, 0o666);
    const found = await cli('audit');
    assert.equal(found.code, 1);
    assert.match(found.stdout, /CRITICAL private key .*server\.key\.pem has mode 0644.*\[fixable/);
    assert.match(found.stdout, /CRITICAL policy file .*writable by everyone/);

    const fixed = await cli('--json', 'audit', '--fix');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.equal(JSON.parse(fixed.stdout).summary.fixed, 2);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(statSync(policy).mode & 0o777, 0o644);
    assert.equal((await cli('audit')).code, 0, 'control: clean after the fix');

    const log = join(dir, 'audit', 'audit.log');
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records.filter((r) => r.kind === 'fix').length, 2);

    writeFileSync(log, readFileSync(log, 'utf8').replace('"kind":"daemon_started"', '"kind":"daemon_startex"'));
    const deep = await cli('--json', 'audit', '--deep');
    assert.equal(deep.code, 1);
    const chain = JSON.parse(deep.stdout).findings.find((f: { id: string }) => f.id === 'audit-chain');
    assert.equal(chain.severity, 'critical');
    assert.match(chain.message, /audit\.log:1: bad signature/);
  } finally {
    await m.d.stop();
  }
});
