// Token issuers named in the policy file: a token grants only the roles its subject may hold there
// (claimed ∩ subjects map); other subjects, other issuers and too many claimed roles get nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

test('policy issuers grant subject-allowed roles only', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  const other = join(dir, 'other');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  assert.equal((await runCli(['token', 'keygen', '--alg', 'EdDSA', '--kid', 'k2', '--out', other])).code, 0);
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, `roles:
  operator: { methods: [status] }
  auditor: { methods: [ping] }
bindings:
  - { uid: 0, roles: [admin] }
issuers:
  - iss: ci-issuer
    jwks: ${join(keys, 'jwks.json')}
    audience: flymed
    maxRoles: 2
    subjects: { deployer: [operator] }
`);
  const issue = async (key: string, iss: string, sub: string, roles: string) => {
    const r = await runCli(['token', 'issue', '--key', key, '--iss', iss, '--sub', sub, '--aud', 'flymed', '--roles', roles, '--ttl', '5m']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const k1 = join(keys, 'k1.private.jwk.json');
  const d = await startDaemon(['--socket-mode', '0666', '--policy', file], { dir });
  try {
    // Control: the subject's allowed role is granted; the claimed admin role is ignored.
    const good = await issue(k1, 'ci-issuer', 'deployer', 'operator,admin');
    const who = JSON.parse((await runCli(['--connect', d.url, '--token', good, '--json', 'whoami'], NOBODY)).stdout);
    assert.deepEqual(who.roles, ['operator']);
    assert.equal(who.roleSources.operator, 'token:ci-issuer/deployer');
    const ok = await runCli(['--connect', d.url, '--token', await issue(k1, 'ci-issuer', 'deployer', 'operator'), '--json', 'status'], NOBODY);
    assert.equal(ok.code, 0, ok.stderr);

    // Another subject of the same issuer claiming operator: no role → denied.
    const intruder = await runCli(['--connect', d.url, '--token', await issue(k1, 'ci-issuer', 'intruder', 'operator'), '--json', 'status'], NOBODY);
    assert.equal(intruder.code, 3);
    assert.equal(JSON.parse(intruder.stderr).error.code, 'FLYME_PERMISSION_DENIED');

    // An issuer the policy does not name (other key, other iss) is refused.
    const foreign = await runCli(['--connect', d.url, '--token', await issue(join(other, 'k2.private.jwk.json'), 'evil', 'deployer', 'operator'), '--json', 'status'], NOBODY);
    assert.equal(JSON.parse(foreign.stderr).error.code, 'FLYME_TOKEN_WRONG_ISSUER');
    // The right iss signed by the wrong key: refused by the signature check.
    const forged = await runCli(['--connect', d.url, '--token', await issue(join(other, 'k2.private.jwk.json'), 'ci-issuer', 'deployer', 'operator'), '--json', 'status'], NOBODY);
    assert.equal(JSON.parse(forged.stderr).error.code, 'FLYME_TOKEN_INVALID');
    // More claimed roles than maxRoles: refused.
    const greedy = await runCli(['--connect', d.url, '--token', await issue(k1, 'ci-issuer', 'deployer', 'operator,a,b'), '--json', 'status'], NOBODY);
    assert.equal(JSON.parse(greedy.stderr).error.code, 'FLYME_TOKEN_INVALID');
    // Each refused token is counted in an alert (and an audit record) with its reason; repeats of one reason
    // by one principal within a second are coalesced into a summary carrying the count.
    await new Promise((r) => setTimeout(r, 1200));
    const alerts = JSON.parse((await runCli(['--connect', d.url, '--json', 'alerts'])).stdout).alerts as Array<{ kind: string; reason: string; details?: { count?: number } }>;
    const counted: Record<string, number> = {};
    for (const a of alerts.filter((x) => x.kind === 'token_refused')) counted[a.reason] = (counted[a.reason] ?? 0) + (a.details?.count ?? 1);
    assert.deepEqual(counted, { FLYME_TOKEN_INVALID: 2, FLYME_TOKEN_WRONG_ISSUER: 1 });
  } finally {
    await d.stop();
  }
});
