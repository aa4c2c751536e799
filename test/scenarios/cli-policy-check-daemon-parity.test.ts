// `flyme policy check` checks what flymed checks when it loads a policy: a file whose token issuer's JWKS is
// missing is refused by both (before the fix `policy check` said OK and flymed would not start). Control: once
// the JWKS exists, both accept the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, tempDir } from '../helpers/daemon.js';

test('policy check refuses what flymed refuses (a missing issuer JWKS), accepts what it loads', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-policy-parity-');
  const keys = join(dir, 'keys');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, [
    'roles:', '  operator: { methods: [status] }',
    'bindings:', '  - { uid: 0, roles: [admin] }',
    'issuers:', `  - { iss: ci, jwks: ${join(keys, 'jwks.json')}, audience: flymed, subjects: { deployer: [operator] } }`, '',
  ].join('\n'));
  try {
    const check = await runCli(['policy', 'check', file]);
    assert.equal(check.code, 1, `policy check must refuse: ${check.stdout}`);
    assert.match(check.stderr, /token issuer "ci": .*jwks\.json/);
    const refused = await startDaemon(['--policy', file], { dir: tempDir('flyme-policy-parity-d-'), wait: false });
    const code = await refused.exited;
    rmSync(refused.dir, { recursive: true, force: true });
    assert.notEqual(code, 0, 'flymed refuses the same file');
    assert.match(refused.log(), /token issuer "ci"/);

    const keygen = await runCli(['token', 'keygen', '--kid', 'k1', '--out', keys]);
    assert.equal(keygen.code, 0, keygen.stderr);
    const ok = await runCli(['policy', 'check', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^OK .*1 token issuers/);
    const d = await startDaemon(['--policy', file]);
    await d.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
