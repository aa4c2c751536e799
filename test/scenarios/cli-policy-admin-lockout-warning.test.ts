// A valid policy in which no binding grants admin locks root out of kill/unlock/audit/reloadPolicy: `policy
// check` (exit 0: flymed loads it) and `doctor` warn and name the binding to add. Control: with
// `{ uid: 0, roles: [admin] }` neither warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/daemon.js';

test('policy check and doctor warn of a policy that gives admin to nobody', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-admin-lockout-');
  const file = join(dir, 'policy.yaml');
  const write = (bindings: string) => { writeFileSync(file, `roles:\n  operator: { methods: [status] }\nbindings:\n  - { uid: 1000, roles: [operator] }\n${bindings}`); chmodSync(file, 0o644); };
  // doctor against a socket that is not there: its policy lines are what this test reads.
  const doctor = () => runCli(['--connect', `unix://${join(dir, 'none.sock')}`, 'doctor', '--policy', file]);
  try {
    write('');
    const check = await runCli(['policy', 'check', file]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /WARNING: .*no binding grants admin .*root included.*kill, unlock, audit or reloadPolicy/);
    assert.match(check.stderr, /fix: add under bindings: - \{ uid: 0, roles: \[admin\] \}/);
    const json = await runCli(['--json', 'policy', 'check', file]);
    assert.equal(JSON.parse(json.stdout).warnings.length, 1);
    const doc = await doctor();
    assert.match(doc.stdout, /^WARN {2}.*policy\.yaml: no binding grants admin/m);

    write('  - { uid: 0, roles: [admin] }\n');
    const good = await runCli(['policy', 'check', file]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stderr, '');
    const docGood = await doctor();
    assert.doesNotMatch(docGood.stdout, /no binding grants admin/);
    assert.match(docGood.stdout, /^OK {4}.*policy\.yaml is valid/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
