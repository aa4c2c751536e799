import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import { SignJWT, importJWK, type CryptoKey, type JWTPayload } from 'jose';
import { FlyMeError } from '../../../src/errors.js';
import { TokenIssuer, TokenVerifier, generateSigningKey, type GeneratedKey } from '../../../src/auth/index.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const NOW = T0.getTime() / 1000;
const is = (c: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal((e as FlyMeError).code, c, (e as FlyMeError).message);
  return true;
};
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let key: GeneratedKey;
let priv: CryptoKey;
let issuer: TokenIssuer;

function verifier(at: Date = T0, extra: Partial<ConstructorParameters<typeof TokenVerifier>[0]> = {}) {
  return new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', issuer: 'flyme', clock: () => at, ...extra });
}
function claims(over: Record<string, unknown> = {}): JWTPayload {
  return { iss: 'flyme', sub: 'svc', aud: 'flymed', iat: NOW, nbf: NOW, exp: NOW + 600, jti: `j-${Math.random()}`, ...over };
}
function sign(payload: JWTPayload, header: Record<string, unknown> = {}) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT', ...header }).sign(priv);
}

describe('refused tokens (each with a passing control)', () => {
  before(async () => {
    key = await generateSigningKey('ES256', 'k1');
    priv = (await importJWK(key.privateJwk, 'ES256')) as CryptoKey;
    issuer = await TokenIssuer.create({ key: key.privateJwk, clock: () => T0 });
  });

  it('control: a hand-signed token with every claim verifies', async () => {
    await verifier().verify(await sign(claims()));
  });

  it('a token with whitespace or stray characters around or inside a part is refused (the exact token is the control)', async () => {
    const good = await sign(claims());
    for (const t of [`${good} `, ` ${good}`, `${good}\n`, good.replace('.', '. '), `${good}=`, `${good}.`]) {
      await assert.rejects(verifier().verify(t), is('FLYME_TOKEN_INVALID'), JSON.stringify(t.slice(-3)));
    }
    await verifier().verify(good);
  });

  it('alg none (and its case variants) is refused', async () => {
    const good = await sign(claims());
    const [, payload] = good.split('.');
    for (const alg of ['none', 'None', 'NONE']) {
      for (const sig of ['', 'AAAA']) {
        const t = `${b64({ alg, kid: 'k1', typ: 'JWT' })}.${payload}.${sig}`;
        await assert.rejects(verifier().verify(t), is('FLYME_TOKEN_INVALID'));
      }
    }
  });

  it('HS256 signed with the public key (JWK, PEM) as HMAC secret is refused, even when HS256 is allowed', async () => {
    const pem = createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const jwkText = JSON.stringify(key.publicJwk);
    for (const secret of [pem, jwkText]) {
      const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(claims())}`;
      const t = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await assert.rejects(verifier().verify(t), is('FLYME_TOKEN_INVALID'));
      await assert.rejects(verifier(T0, { algorithms: ['ES256', 'HS256'] }).verify(t), is('FLYME_TOKEN_INVALID'));
    }
  });

  it('expired (and exp == now) is refused after the skew; valid within the skew', async () => {
    const t = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 60 });
    await verifier(new Date(T0.getTime() + 60_000 + 29_000)).verify(t);
    await assert.rejects(verifier(new Date(T0.getTime() + 60_000 + 30_000)).verify(t), is('FLYME_TOKEN_EXPIRED'));
    await assert.rejects(verifier(new Date(T0.getTime() + 60_000), { clockSkewSeconds: 0 }).verify(t), is('FLYME_TOKEN_EXPIRED'));
  });

  it('not yet valid (nbf, iat in the future) is refused', async () => {
    await verifier().verify(await sign(claims({ nbf: NOW + 30 })));
    await assert.rejects(verifier().verify(await sign(claims({ nbf: NOW + 31, exp: NOW + 600 }))), is('FLYME_TOKEN_EXPIRED'));
    await assert.rejects(verifier().verify(await sign(claims({ iat: NOW + 120, nbf: NOW }))), is('FLYME_TOKEN_EXPIRED'));
  });

  it('lifetime over the maximum is refused', async () => {
    await verifier().verify(await sign(claims({ exp: NOW + 3600 })));
    await assert.rejects(verifier().verify(await sign(claims({ exp: NOW + 3601 }))), is('FLYME_TOKEN_EXPIRED'));
    await assert.rejects(verifier(T0, { maxLifetimeSeconds: 300 }).verify(await sign(claims({ exp: NOW + 301 }))), is('FLYME_TOKEN_EXPIRED'));
  });

  it('wrong issuer is refused', async () => {
    await assert.rejects(verifier().verify(await sign(claims({ iss: 'evil' }))), is('FLYME_TOKEN_WRONG_ISSUER'));
  });

  it('wrong audience is refused (string or array)', async () => {
    await verifier().verify(await sign(claims({ aud: ['other', 'flymed'] })));
    await assert.rejects(verifier().verify(await sign(claims({ aud: 'other' }))), is('FLYME_TOKEN_WRONG_AUDIENCE'));
    await assert.rejects(verifier().verify(await sign(claims({ aud: [] }))), is('FLYME_TOKEN_WRONG_AUDIENCE'));
  });

  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti']) {
    it(`missing "${claim}" is refused and named in data.claim`, async () => {
      const c = claims();
      delete c[claim];
      await assert.rejects(verifier().verify(await sign(c)), (e: unknown) => {
        is('FLYME_TOKEN_INVALID')(e);
        assert.equal((e as FlyMeError).data['claim'], claim);
        return true;
      });
    });
  }

  it('claims of the wrong type are refused', async () => {
    for (const over of [{ exp: String(NOW + 60) }, { jti: 42 }, { sub: '' }, { roles: 'admin' }, { roles: [1] }, { flyme_one_time: 'yes' }, { cnf: { jkt: 'x' } }]) {
      await assert.rejects(verifier().verify(await sign(claims(over))), is('FLYME_TOKEN_INVALID'));
    }
  });

  it('tampered payload is refused', async () => {
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['reader'] });
    const [h, p, s] = t.split('.');
    const body = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    body['roles'] = ['admin'];
    await assert.rejects(verifier().verify(`${h}.${b64(body)}.${s}`), is('FLYME_TOKEN_INVALID'));
  });

  it('missing kid, unknown kid, jku/jwk/x5u headers and a bad typ are refused', async () => {
    await assert.rejects(verifier().verify(await sign(claims(), { kid: undefined })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { kid: 'k2' })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { kid: '../../etc/passwd' })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { jku: 'https://evil.example/jwks' })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { x5u: 'https://evil.example/c.pem' })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { jwk: key.publicJwk })), is('FLYME_TOKEN_INVALID'));
    await assert.rejects(verifier().verify(await sign(claims(), { typ: 'at+jwt' })), is('FLYME_TOKEN_INVALID'));
  });

  it('oversized and malformed tokens are refused', async () => {
    for (const t of ['', 'a.b', 'a.b.c.d', 'x'.repeat(9000), '...', 'é.é.é']) {
      await assert.rejects(verifier().verify(t), is('FLYME_TOKEN_INVALID'));
    }
  });

  it('an algorithm outside the allow-list is refused', async () => {
    const ed = await generateSigningKey('EdDSA', 'e1');
    const t = await (await TokenIssuer.create({ key: ed.privateJwk, clock: () => T0 })).issue({ sub: 's', aud: 'flymed' });
    const v = (algorithms: ('ES256' | 'EdDSA')[]) =>
      new TokenVerifier({ keys: { keys: [ed.publicJwk!, key.publicJwk!] }, audience: 'flymed', algorithms, clock: () => T0 });
    await v(['EdDSA']).verify(t);
    await assert.rejects(v(['ES256']).verify(t), is('FLYME_TOKEN_INVALID'));
  });

  it('a header remembered by one verifier lets no other header through: a forbidden, unknown-kid or disallowed-alg header after good ones is refused each time', async () => {
    const v = verifier();
    await v.verify(await sign(claims())); // control: the issuer's header is now remembered
    await v.verify(await sign(claims()));
    for (let i = 0; i < 2; i++) {
      await assert.rejects(v.verify(await sign(claims(), { jku: 'https://evil.example/jwks' })), is('FLYME_TOKEN_INVALID'));
      await assert.rejects(v.verify(await sign(claims(), { kid: 'k9' })), is('FLYME_TOKEN_INVALID'));
      await assert.rejects(v.verify(await sign(claims(), { typ: 'at+jwt' })), is('FLYME_TOKEN_INVALID'));
    }
    // The same header text under a verifier that does not allow its algorithm: refused (headers are remembered per verifier).
    await assert.rejects(verifier(T0, { algorithms: ['EdDSA'] }).verify(await sign(claims())), is('FLYME_TOKEN_INVALID'));
    await v.verify(await sign(claims())); // and the good header still verifies
  });

  it('many distinct headers (more than are remembered) are each checked: the good ones verify, a bad one among them is refused', async () => {
    const v = verifier();
    for (let i = 0; i < 80; i++) await v.verify(await sign(claims(), { pad: `p${i}` })); // 80 distinct header texts
    await assert.rejects(v.verify(await sign(claims(), { pad: 'p3', x5u: 'https://evil.example/c' })), is('FLYME_TOKEN_INVALID'));
    await v.verify(await sign(claims(), { pad: 'p3' }));
  });
});
