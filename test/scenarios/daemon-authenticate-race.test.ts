// Two `authenticate` calls racing on one connection cannot both pass and stack two tokens' roles: the
// second is refused while the first is verified, and whoami shows exactly the roles of the one token kept.
// Control: on separate connections each token grants its own role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, RawPeer } from '../helpers/daemon.js';
import { TokenIssuer } from '../../src/auth/jwt/issuer.js';

test('concurrent authenticate calls on one connection never stack roles', async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, `roles:
  operator: { methods: [status] }
  auditor: { methods: [alerts] }
bindings:
  - { uid: 4242, roles: [admin] }
issuers:
  - iss: ci-issuer
    jwks: ${join(keys, 'jwks.json')}
    audience: flymed
    subjects: { deployer: [operator], reader: [auditor] }
`);
  const issuer = await TokenIssuer.create({ key: JSON.parse(readFileSync(join(keys, 'k1.private.jwk.json'), 'utf8')), issuer: 'ci-issuer' });
  const token = (sub: string, role: string) => issuer.issue({ sub, aud: 'flymed', roles: [role], ttlSeconds: 300 });
  const d = await startDaemon(['--policy', policyFile], { dir });
  const peers: RawPeer[] = [];
  try {
    // Control: separately, each token grants its role.
    for (const [sub, role] of [['deployer', 'operator'], ['reader', 'auditor']] as const) {
      const p = await RawPeer.open(d.socket);
      peers.push(p);
      p.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'authenticate', params: { token: await token(sub, role) } }) + '\n');
      assert.deepEqual((await p.next()).result.roles, [role]);
    }
    // The race, repeated: both requests in one write, so both are dispatched before either verification ends.
    for (let i = 0; i < 20; i++) {
      const p = await RawPeer.open(d.socket);
      peers.push(p);
      const [t1, t2] = [await token('deployer', 'operator'), await token('reader', 'auditor')];
      p.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'authenticate', params: { token: t1 } }) + '\n'
        + JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'authenticate', params: { token: t2 } }) + '\n');
      const answers = [await p.next(), await p.next()];
      const ok = answers.filter((a) => a.result);
      assert.equal(ok.length, 1, `exactly one authenticate succeeds: ${JSON.stringify(answers)}`);
      const refused = answers.find((a) => a.error)!;
      assert.equal(refused.error.data.code, 'FLYME_INVALID_REQUEST');
      p.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'whoami' }) + '\n');
      const who = (await p.next()).result;
      assert.equal(who.roles.length, 1, `one token's roles only: ${JSON.stringify(who.roles)}`);
      assert.deepEqual(who.roles, ok[0]!.result.roles);
      p.destroy();
    }
  } finally {
    for (const p of peers) p.destroy();
    await d.stop();
  }
});
