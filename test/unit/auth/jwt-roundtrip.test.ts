import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, rename, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlyMeError } from '../../../src/errors.js';
import {
  JwksFileSource,
  TokenIssuer,
  TokenVerifier,
  generateSigningKey,
  type JwtAlgorithm,
} from '../../../src/auth/index.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const clock = () => T0;

const is = (c: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal((e as FlyMeError).code, c);
  return true;
};

describe('token round trip', () => {
  for (const alg of ['ES256', 'EdDSA', 'HS256'] as JwtAlgorithm[]) {
    it(`${alg}: issue then verify`, async () => {
      const key = await generateSigningKey(alg, `k-${alg}`);
      const issuer = await TokenIssuer.create({ key: key.privateJwk, issuer: 'flyme', clock });
      const token = await issuer.issue({ sub: 'billing', aud: 'flymed', roles: ['reader', 'writer'], ttlSeconds: 600 });
      const verifier = new TokenVerifier({
        keys: { keys: [key.publicJwk ?? key.privateJwk] },
        audience: 'flymed',
        issuer: 'flyme',
        algorithms: alg === 'HS256' ? ['HS256'] : ['ES256', 'EdDSA'],
        clock,
      });
      const v = await verifier.verify(token, { connectionId: 'c1' });
      assert.equal(v.alg, alg);
      assert.equal(v.kid, `k-${alg}`);
      assert.deepEqual(v.identity.aud, ['flymed']);
      assert.equal(v.identity.sub, 'billing');
      assert.equal(v.identity.iss, 'flyme');
      assert.deepEqual(v.identity.claimedRoles, ['reader', 'writer']);
      assert.equal(v.identity.exp, T0.getTime() / 1000 + 600);
      assert.equal(typeof v.identity.jti, 'string');
      assert.equal(v.oneTime, false);
    });
  }

  it('HS256 is not in the default allow-list', async () => {
    const key = await generateSigningKey('HS256', 'h1');
    assert.throws(() => new TokenVerifier({ keys: { keys: [key.privateJwk] }, audience: 'a' }), is('FLYME_INVALID_CONFIG'));
  });

  it('an HS256 secret under 32 bytes is refused at configuration (issuer and verifier); 32 bytes is accepted', async () => {
    const short = { kty: 'oct', kid: 'h', alg: 'HS256', k: randomBytes(31).toString('base64url') };
    await assert.rejects(TokenIssuer.create({ key: short }), is('FLYME_INVALID_CONFIG'));
    assert.throws(() => new TokenVerifier({ keys: { keys: [short] }, audience: 'a', algorithms: ['HS256'] }), is('FLYME_INVALID_CONFIG'));
    await assert.rejects(TokenIssuer.create({ key: { kid: 'h', alg: 'HS256', key: new Uint8Array(16) } }), is('FLYME_INVALID_CONFIG'));
    const ok = { ...short, k: randomBytes(32).toString('base64url') };
    await TokenIssuer.create({ key: ok });
    new TokenVerifier({ keys: { keys: [ok] }, audience: 'a', algorithms: ['HS256'] });
  });

  it('a verification JWKS holding a private key is refused', async () => {
    const key = await generateSigningKey('ES256', 'p');
    assert.throws(() => new TokenVerifier({ keys: { keys: [key.privateJwk] }, audience: 'a' }), is('FLYME_INVALID_CONFIG'));
  });

  it('NaN / negative / Infinity options are refused, not silently disabled', async () => {
    const key = await generateSigningKey('ES256', 'n');
    for (const bad of [NaN, -1, Infinity]) {
      assert.throws(() => new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'a', clockSkewSeconds: bad }), is('FLYME_INVALID_CONFIG'));
      assert.throws(() => new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'a', maxLifetimeSeconds: bad }), is('FLYME_INVALID_CONFIG'));
    }
  });
});

describe('key rotation', () => {
  it('old and new keys both verify while both are in the JWKS; old fails after removal', async () => {
    const oldKey = await generateSigningKey('ES256', 'old');
    const newKey = await generateSigningKey('EdDSA', 'new');
    const oldTok = await (await TokenIssuer.create({ key: oldKey.privateJwk, clock })).issue({ sub: 's', aud: 'a' });
    const newTok = await (await TokenIssuer.create({ key: newKey.privateJwk, clock })).issue({ sub: 's', aud: 'a' });
    const both = new TokenVerifier({ keys: { keys: [oldKey.publicJwk!, newKey.publicJwk!] }, audience: 'a', clock });
    await both.verify(oldTok, { connectionId: '1' });
    await both.verify(newTok, { connectionId: '1' });
    const onlyNew = new TokenVerifier({ keys: { keys: [newKey.publicJwk!] }, audience: 'a', clock });
    await onlyNew.verify(newTok, { connectionId: '1' });
    await assert.rejects(onlyNew.verify(oldTok, { connectionId: '1' }), is('FLYME_TOKEN_INVALID'));
  });

  it('through the JWKS file: reload on atomic rename, keep the old set when the new file is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flyme-jwks-'));
    const reloads: string[][] = [];
    const invalids: string[] = [];
    let source: JwksFileSource | undefined;
    try {
      const oldKey = await generateSigningKey('ES256', 'old');
      const newKey = await generateSigningKey('ES256', 'new');
      const path = join(dir, 'jwks.json');
      const replace = async (body: string) => {
        await writeFile(join(dir, 'jwks.json.tmp'), body);
        await rename(join(dir, 'jwks.json.tmp'), path);
      };
      await writeFile(path, JSON.stringify({ keys: [oldKey.publicJwk, newKey.publicJwk] }));
      source = await JwksFileSource.open(path, {
        algorithms: ['ES256'],
        pollIntervalMs: 50,
        onReload: (kids) => reloads.push([...kids]),
        onInvalid: (e) => invalids.push(e.code),
      });
      const verifier = new TokenVerifier({ keys: source, audience: 'a', clock });
      const oldTok = await (await TokenIssuer.create({ key: oldKey.privateJwk, clock })).issue({ sub: 's', aud: 'a' });
      const newTok = await (await TokenIssuer.create({ key: newKey.privateJwk, clock })).issue({ sub: 's', aud: 'a' });
      await verifier.verify(oldTok, { connectionId: '1' });
      await verifier.verify(newTok, { connectionId: '1' });

      // Invalid replacement: refused, old set kept.
      await replace('{"keys": [ {"kty": "EC"} ]}');
      await waitFor(() => invalids.length > 0);
      assert.deepEqual(source.current().kids, ['old', 'new']);
      await verifier.verify(oldTok, { connectionId: '1' });

      // Remove the old key by atomic rename; the watcher (or the poller) picks it up.
      await replace(JSON.stringify({ keys: [newKey.publicJwk] }));
      await waitFor(() => reloads.length > 0);
      assert.deepEqual(reloads.at(-1), ['new']);
      await verifier.verify(newTok, { connectionId: '1' });
      await assert.rejects(verifier.verify(oldTok, { connectionId: '1' }), is('FLYME_TOKEN_INVALID'));
      assert.ok((await readFile(path, 'utf8')).includes('"new"'));
    } finally {
      source?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the JWKS reload');
    await new Promise((r) => setTimeout(r, 10));
  }
}
