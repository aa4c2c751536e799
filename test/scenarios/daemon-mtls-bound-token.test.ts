// A certificate-bound token (cnf.x5t#S256) presented on a real mTLS connection whose client certificate is a
// different one (same CA, same trust domain) is refused with FLYME_TOKEN_UNBOUND and grants nothing; the
// control presents it on a connection with the certificate it is bound to, and gets its role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect } from '../../src/client.js';
import { issueSvidWithKey, loadCA } from '../../src/identity/index.js';
import { TokenIssuer } from '../../src/auth/jwt/issuer.js';
import { runCli, startMtlsDaemon, tempDir } from '../helpers/daemon.js';

test('a certificate-bound token is refused on an mTLS connection with another certificate', async () => {
  const keysDir = tempDir();
  const keys = join(keysDir, 'keys');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const roles = join(keysDir, 'roles.json');
  writeFileSync(roles, JSON.stringify({ 'ci-issuer': { deployer: ['admin'] } }));
  const { d, dir, certs, url } = await startMtlsDaemon(['--jwks', join(keys, 'jwks.json'), '--token-issuer', 'ci-issuer', '--token-roles', roles]);
  // A second client of the same CA: another certificate, another key.
  const other = join(dir, 'other');
  mkdirSync(other);
  copyFileSync(join(certs, 'root-ca.pem'), join(other, 'root-ca.pem'));
  const svid = await issueSvidWithKey(await loadCA(certs), { spiffeId: 'spiffe://flyme.local/other' });
  writeFileSync(join(other, 'client.pem'), svid.chainPem);
  writeFileSync(join(other, 'client.key.pem'), svid.keyPem, { mode: 0o600 });

  const boundDer = new X509Certificate(readFileSync(join(certs, 'client.pem'))).raw;
  const issuer = await TokenIssuer.create({ key: JSON.parse(readFileSync(join(keys, 'k1.private.jwk.json'), 'utf8')), issuer: 'ci-issuer' });
  const bound = () => issuer.issue({ sub: 'deployer', aud: 'flymed', roles: ['admin'], ttlSeconds: 300, bindCertDer: new Uint8Array(boundDer) });
  const thief = await connect(url, { certs: other, callTimeoutMs: 5000 });
  const owner = await connect(url, { certs, callTimeoutMs: 5000 });
  try {
    const stolen = await bound();
    await assert.rejects(thief.call('authenticate', { token: stolen }), (e: { code?: string }) => e.code === 'FLYME_TOKEN_UNBOUND');
    const who = await thief.call<{ roleSources: Record<string, string>; token?: unknown; cert: { spiffeId: string } }>('whoami');
    assert.equal(who.cert.spiffeId, 'spiffe://flyme.local/other');
    assert.equal(who.token, undefined);
    assert.ok(!Object.values(who.roleSources).some((s) => s.startsWith('token:')), `no role from the stolen token: ${JSON.stringify(who.roleSources)}`);
    // Control: the token's own certificate.
    const mine = await owner.call<{ roles: string[]; token: { sub: string } }>('authenticate', { token: await bound() });
    assert.equal(mine.token.sub, 'deployer');
    assert.ok(mine.roles.includes('admin'));
  } finally {
    await thief.close();
    await owner.close();
    await d.stop();
  }
});
