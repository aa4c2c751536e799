// A token's roles last only as long as the token: on a connection that stays open, the roles it granted are
// gone at the next call once the token expires, once the key that signed it leaves the JWKS, or once a policy
// reload stops trusting its issuer; the call says why. Control each time: a fresh token on a new connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, RawPeer } from '../helpers/daemon.js';
import { TokenIssuer } from '../../src/auth/jwt/issuer.js';

let nextId = 1;
async function call(peer: RawPeer, method: string, params: unknown = {}): Promise<Record<string, any>> {
  const id = nextId++;
  peer.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  const r = await peer.next();
  assert.equal(r.id, id);
  return r;
}

async function until(what: string, f: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('roles granted by a token end when the token does (expiry, key removed, issuer dropped)', async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  const next = join(dir, 'next');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k2', '--out', next])).code, 0);
  const policyFile = join(dir, 'policy.yaml');
  const policy = (issuers: boolean) => `roles:
  operator: { methods: [status] }
bindings:
  - { uid: 4242, roles: [admin] }
${issuers ? `issuers:
  - iss: ci-issuer
    jwks: ${join(keys, 'jwks.json')}
    audience: flymed
    subjects: { deployer: [operator] }
` : ''}`;
  writeFileSync(policyFile, policy(true));
  const k1 = await TokenIssuer.create({ key: JSON.parse(readFileSync(join(keys, 'k1.private.jwk.json'), 'utf8')), issuer: 'ci-issuer' });
  const k2 = await TokenIssuer.create({ key: JSON.parse(readFileSync(join(next, 'k2.private.jwk.json'), 'utf8')), issuer: 'ci-issuer' });
  const d = await startDaemon(['--policy', policyFile], { dir });
  const peers: RawPeer[] = [];
  const open = async (token: string) => {
    const p = await RawPeer.open(d.socket);
    peers.push(p);
    const a = await call(p, 'authenticate', { token });
    assert.deepEqual(a.result?.roles, ['operator'], JSON.stringify(a));
    return p;
  };
  try {
    // Without a token the caller (no binding in this policy) is denied: the role below comes only from the token.
    const bare = await RawPeer.open(d.socket);
    peers.push(bare);
    assert.equal((await call(bare, 'status')).error?.data?.code, 'FLYME_PERMISSION_DENIED');

    // 1. Expiry.
    const short = await k1.issue({ sub: 'deployer', aud: 'flymed', roles: ['operator'], ttlSeconds: 2 });
    const exp = JSON.parse(Buffer.from(short.split('.')[1]!, 'base64url').toString()).exp as number;
    const a = await open(short);
    assert.ok((await call(a, 'status')).result, 'status with a live token');
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 200));
    const expired = await call(a, 'status');
    assert.equal(expired.error?.data?.code, 'FLYME_TOKEN_EXPIRED', JSON.stringify(expired));
    assert.match(expired.error.message, /expired at/);
    const who = (await call(a, 'whoami')).result;
    assert.deepEqual(who.roles, []);
    assert.equal(who.tokenLost.code, 'FLYME_TOKEN_EXPIRED');
    assert.equal(who.token, undefined);
    // Control: a fresh token on a new connection works.
    const b = await open(await k1.issue({ sub: 'deployer', aud: 'flymed', roles: ['operator'], ttlSeconds: 300 }));
    assert.ok((await call(b, 'status')).result);

    // 2. The JWKS rotates to k2 only: the k1 token on the open connection loses its role.
    copyFileSync(join(next, 'jwks.json'), join(keys, 'jwks.json'));
    await until('k1 token refused after the JWKS reload', async () => (await call(b, 'status')).error?.data?.code === 'FLYME_TOKEN_INVALID');
    assert.match((await call(b, 'status')).error.message, /key that signed it \(kid k1\) is no longer/);
    // Control: a k2 token works.
    const c = await open(await k2.issue({ sub: 'deployer', aud: 'flymed', roles: ['operator'], ttlSeconds: 300 }));
    assert.ok((await call(c, 'status')).result);

    // 3. The policy stops trusting the issuer: the k2 token's role ends too.
    writeFileSync(policyFile, policy(false));
    let last: unknown;
    await until(`issuer dropped by the policy reload (last answer ${JSON.stringify(last)})`, async () => {
      const r = await call(c, 'status');
      last = r;
      return r.error?.data?.code === 'FLYME_TOKEN_WRONG_ISSUER';
    }).catch((e: Error) => { throw new Error(`${e.message}; last ${JSON.stringify(last)}\n${d.log()}`); });
  } finally {
    for (const p of peers) p.destroy();
    await d.stop();
  }
});
