// A policy reload is all or nothing: a new file whose token issuers cannot be loaded is refused as a whole
// (its role changes are not applied either) and the old policy, with its issuers, stays. Control: the same
// file with the issuer fixed is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, RawPeer } from '../helpers/daemon.js';
import { TokenIssuer } from '../../src/auth/jwt/issuer.js';

test('a policy whose token issuers fail to load is refused whole', async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const policyFile = join(dir, 'policy.yaml');
  const policy = (rootRole: string, jwks: string) => `roles:
  operator: { methods: [status] }
  viewer: { methods: [ping] }
bindings:
  - { uid: 0, roles: [${rootRole}] }
issuers:
  - iss: ci-issuer
    jwks: ${jwks}
    audience: flymed
    subjects: { deployer: [operator] }
`;
  writeFileSync(policyFile, policy('viewer', join(keys, 'jwks.json')));
  const issuer = await TokenIssuer.create({ key: JSON.parse(readFileSync(join(keys, 'k1.private.jwk.json'), 'utf8')), issuer: 'ci-issuer' });
  const d = await startDaemon(['--policy', policyFile], { dir });
  const status = async () => {
    const r = await runCli(['--connect', d.url, '--json', 'status']);
    return r.code === 0 ? 'allowed' : JSON.parse(r.stderr).error.code as string;
  };
  const withToken = async () => {
    const p = await RawPeer.open(d.socket);
    try {
      p.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'authenticate', params: { token: await issuer.issue({ sub: 'deployer', aud: 'flymed', roles: ['operator'], ttlSeconds: 300 }) } }) + '\n');
      const a = await p.next();
      return a.result ? 'accepted' : a.error.data.code as string;
    } finally {
      p.destroy();
    }
  };
  try {
    assert.equal(await status(), 'FLYME_PERMISSION_DENIED');
    assert.equal(await withToken(), 'accepted');

    // The attack on consistency: root becomes operator, but the issuer's JWKS file does not exist.
    writeFileSync(policyFile, policy('operator', join(dir, 'missing-jwks.json')));
    d.proc.kill('SIGHUP');
    const until = Date.now() + 5000;
    while (!/missing-jwks\.json/.test(d.log())) {
      assert.ok(Date.now() < until, `no refusal logged:\n${d.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await status(), 'FLYME_PERMISSION_DENIED', 'the role change of the refused file is not applied');
    assert.equal(await withToken(), 'accepted', 'the old issuer still verifies tokens');

    // Control: fixed file → applied (root now operator), issuer still works.
    writeFileSync(policyFile, policy('operator', join(keys, 'jwks.json')));
    d.proc.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while ((await status()) !== 'allowed') {
      assert.ok(Date.now() < deadline, 'the good policy was not applied');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await withToken(), 'accepted');
  } finally {
    await d.stop();
  }
});
