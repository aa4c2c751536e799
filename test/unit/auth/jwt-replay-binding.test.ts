import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FlyMeError } from '../../../src/errors.js';
import {
  ReplayCache,
  TokenIssuer,
  TokenVerifier,
  certificateThumbprint,
  generateSigningKey,
  type GeneratedKey,
} from '../../../src/auth/index.js';
import { firstCertificateDer } from '../../../src/auth/thumbprint.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const is = (c: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal((e as FlyMeError).code, c, (e as FlyMeError).message);
  return true;
};
const fakeCertDer = () => new Uint8Array([0x30, 0x82, ...randomBytes(64)]);

let key: GeneratedKey;
let issuer: TokenIssuer;
let now = T0;
const verifier = (extra: Partial<ConstructorParameters<typeof TokenVerifier>[0]> = {}) =>
  new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => now, ...extra });

describe('replay', () => {
  before(async () => {
    key = await generateSigningKey('ES256', 'k1');
    issuer = await TokenIssuer.create({ key: key.privateJwk, clock: () => T0 });
  });

  it('a one-time token is accepted once, then FLYME_TOKEN_REPLAYED (even on the same connection)', async () => {
    const v = verifier();
    const t = await issuer.issue({ sub: 's', aud: 'flymed', oneTime: true });
    const first = await v.verify(t, { connectionId: 'c1' });
    assert.equal(first.oneTime, true);
    await assert.rejects(v.verify(t, { connectionId: 'c1' }), is('FLYME_TOKEN_REPLAYED'));
    await assert.rejects(v.verify(t, { connectionId: 'c2' }), is('FLYME_TOKEN_REPLAYED'));
  });

  it('requireOneTime makes every token single-use', async () => {
    const v = verifier({ requireOneTime: true });
    const t = await issuer.issue({ sub: 's', aud: 'flymed' });
    await v.verify(t, { connectionId: 'c1' });
    await assert.rejects(v.verify(t, { connectionId: 'c1' }), is('FLYME_TOKEN_REPLAYED'));
  });

  it('a token binds to the first connection: same connection OK, another connection refused', async () => {
    const v = verifier();
    const t = await issuer.issue({ sub: 's', aud: 'flymed' });
    await v.verify(t, { connectionId: 'c1' });
    await v.verify(t, { connectionId: 'c1' });
    await assert.rejects(v.verify(t, { connectionId: 'c2' }), is('FLYME_TOKEN_REPLAYED'));
  });

  it('without a connection id a token is single-use', async () => {
    const v = verifier();
    const t = await issuer.issue({ sub: 's', aud: 'flymed' });
    await v.verify(t);
    await assert.rejects(v.verify(t), is('FLYME_TOKEN_REPLAYED'));
  });

  it('a refused token (wrong cert) does not consume its jti', async () => {
    const der = fakeCertDer();
    const v = verifier();
    const t = await issuer.issue({ sub: 's', aud: 'flymed', oneTime: true, bindCertDer: der });
    await assert.rejects(v.verify(t, { clientCertDer: fakeCertDer() }), is('FLYME_TOKEN_UNBOUND'));
    await v.verify(t, { clientCertDer: der });
  });

  it('cache full of live entries refuses new tokens (FLYME_TOKEN_CACHE_FULL); expired entries are evicted', async () => {
    const v = verifier({ replayCache: new ReplayCache({ maxEntries: 2 }) });
    const short = await Promise.all([0, 1].map(() => issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 60 })));
    for (const t of short) await v.verify(t, { connectionId: 'c' });
    const third = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 600 });
    await assert.rejects(v.verify(third, { connectionId: 'c' }), is('FLYME_TOKEN_CACHE_FULL'));
    // still refuses the replay of a live entry (nothing was evicted)
    await assert.rejects(v.verify(short[0]!, { connectionId: 'other' }), is('FLYME_TOKEN_REPLAYED'));
    now = new Date(T0.getTime() + 91_000); // past exp + skew of the short tokens
    try {
      await v.verify(third, { connectionId: 'c' });
      assert.equal(v.replayCache.size, 1);
    } finally {
      now = T0;
    }
  });

  it('ReplayCache: entries are forgotten after forgetAfterMs; bad sizes refused', () => {
    const c = new ReplayCache({ maxEntries: 1 });
    c.check({ iss: 'i', jti: 'a', forgetAfterMs: 1000, oneTime: true }, 0);
    assert.throws(() => c.check({ iss: 'i', jti: 'a', forgetAfterMs: 1000, oneTime: true }, 999), is('FLYME_TOKEN_REPLAYED'));
    c.check({ iss: 'other', jti: 'b', forgetAfterMs: 3000, oneTime: true }, 1000);
    assert.equal(c.sweep(5000), 1);
    assert.throws(() => new ReplayCache({ maxEntries: 0 }), TypeError);
  });
});

describe('certificate binding (RFC 8705)', () => {
  it('bound token: the matching cert verifies; another cert or none is FLYME_TOKEN_UNBOUND', async () => {
    const der = fakeCertDer();
    const t = await issuer.issue({ sub: 's', aud: 'flymed', bindCertDer: der });
    const ok = await verifier().verify(t, { connectionId: 'c1', clientCertDer: der });
    assert.equal(ok.certThumbprint, certificateThumbprint(der));
    assert.deepEqual(ok.claims['cnf'], { 'x5t#S256': certificateThumbprint(der) });
    await assert.rejects(verifier().verify(t, { connectionId: 'c1', clientCertDer: fakeCertDer() }), is('FLYME_TOKEN_UNBOUND'));
    await assert.rejects(verifier().verify(t, { connectionId: 'c1' }), is('FLYME_TOKEN_UNBOUND'));
  });

  it('an unbound token verifies with or without a client cert', async () => {
    const t = await issuer.issue({ sub: 's', aud: 'flymed' });
    await verifier().verify(t, { connectionId: 'c1', clientCertDer: fakeCertDer() });
    await verifier().verify(t, { connectionId: 'c1' });
  });

  it('certificateThumbprint is base64url SHA-256 (43 chars); firstCertificateDer reads the first block', () => {
    const der = fakeCertDer();
    assert.match(certificateThumbprint(der), /^[A-Za-z0-9_-]{43}$/);
    const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
    const pem = `junk\n-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n`;
    assert.deepEqual(firstCertificateDer(pem), der);
    assert.throws(() => firstCertificateDer('no pem here'), is('FLYME_INVALID_CONFIG'));
  });

  it('ReplayCache: a jti is remembered per issuer, whatever characters either holds (no joined key to collide)', () => {
    const c = new ReplayCache({ maxEntries: 10 });
    c.check({ iss: 'a\u0000b', jti: 'c', forgetAfterMs: 1000, oneTime: true }, 0);
    // Another issuer's token whose iss and jti joined with a NUL read the same: a different token, accepted.
    c.check({ iss: 'a', jti: 'b\u0000c', forgetAfterMs: 1000, oneTime: true }, 0);
    assert.equal(c.size, 2);
    // Control: the first token again is a replay.
    assert.throws(() => c.check({ iss: 'a\u0000b', jti: 'c', forgetAfterMs: 1000, oneTime: true }, 1), is('FLYME_TOKEN_REPLAYED'));
    assert.equal(c.sweep(1000), 2);
    assert.equal(c.size, 0);
    c.check({ iss: 'a', jti: 'b\u0000c', forgetAfterMs: 3000, oneTime: true }, 2000); // forgotten, so accepted again
    c.clear();
    assert.equal(c.size, 0);
  });
});
