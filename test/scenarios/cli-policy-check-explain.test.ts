// `flyme policy check` validates offline (exit 1 with line and field on a bad file) and
// `flyme explain` says which binding grants a method or which grant is missing (exit 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/daemon.js';

test('policy check and explain', async () => {
  const dir = tempDir();
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify({ version: 'v7', roles: { operator: { methods: ['status'] } }, bindings: [{ uid: 1000, roles: ['operator'] }, { spiffeIdPrefix: 'spiffe://example.org/ops/', roles: ['admin'] }] }, null, 2));
  const ok = await runCli(['policy', 'check', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^OK .*version v7.*1 roles \[operator\], 2 bindings/);

  const yes = await runCli(['explain', 'status', '--uid', '1000', '--policy', file]);
  assert.equal(yes.code, 0);
  assert.match(yes.stdout, /ALLOWED: status: granted by role operator via uid:1000/);
  const admin = await runCli(['explain', 'kill', '--spiffe-id', 'spiffe://example.org/ops/alice', '--policy', file, '--json']);
  assert.equal(JSON.parse(admin.stdout).allowed, true);
  const no = await runCli(['explain', 'status', '--uid', '1001', '--policy', file]);
  assert.equal(no.code, 3);
  assert.match(no.stdout, /DENIED: status: no binding matches this subject; a binding to one of \[admin, operator\] is missing/);

  writeFileSync(file, '{\n  "roles": {\n    "operator": { "methods": ["status"] }\n  },\n  "bindings": [ { "uid": 1000 } ]\n}\n');
  const bad = await runCli(['policy', 'check', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /policy\.json:5: bindings\.0\.roles: required field is missing/);
});
