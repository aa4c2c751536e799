// JWT-SVID validation (SPIFFE JWT-SVID specification): every refusal has a passing control made from the same
// key, claims and header with the offending part made valid, so that no refusal can pass vacuously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { FlyMeError } from '../../../src/errors.js';
import { JwtBundleSet, validateJwtSvid } from '../../../src/spiffe/jwt-svid.js';

const TD = 'spiffe://example.org';
const SUB = 'spiffe://example.org/web';
const AUD = 'flymed';
const T = 1_900_000_000; // seconds; passed explicitly as `now` so the tests do not depend on the clock
const NOW_MS = T * 1000;

const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk = await exportJWK(publicKey);
const privKeyObject: KeyObject = createPrivateKey({ key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
const other = await generateKeyPair('ES256', { extractable: true });
const otherPrivKeyObject: KeyObject = createPrivateKey({ key: (await exportJWK(other.privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
const bundles = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1', use: 'jwt-svid' }] } });

const HEADER = { alg: 'ES256', kid: 'k1', typ: 'JWT' };
const claims = (over: Record<string, unknown> = {}): JWTPayload => ({ sub: SUB, aud: AUD, iat: T, exp: T + 300, ...over });
/** Drops the listed claims (for "claim missing" cases). */
const without = (c: JWTPayload, ...names: string[]): JWTPayload => Object.fromEntries(Object.entries(c).filter(([k]) => !names.includes(k)));

function signJose(payload: JWTPayload, header: Record<string, unknown> = HEADER, key: CryptoKey = privateKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A correctly ES256-signed compact JWS with an arbitrary header (jose refuses to build some of these). */
function signRaw(header: Record<string, unknown>, payload: JWTPayload, key: KeyObject = privKeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const validate = (token: string, audience = AUD, b: JwtBundleSet = bundles, now = NOW_MS) => validateJwtSvid(token, audience, b, now);

function refused(code: string, reason?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (reason !== undefined) assert.equal(e.data.reason, reason, e.message);
    return true;
  };
}
const invalid = (reason: string) => refused('FLYME_TOKEN_INVALID', reason);

async function accepted(token: string, audience = AUD, b: JwtBundleSet = bundles, now = NOW_MS) {
  const v = await validateJwtSvid(token, audience, b, now);
  assert.equal(v.spiffeId, SUB);
  return v;
}

test('control: a valid JWT-SVID is accepted and its SPIFFE ID and claims are returned', async () => {
  const v = await accepted(await signJose(claims({ extra: 'x' })));
  assert.equal(v.claims.sub, SUB);
  assert.equal(v.claims.aud, AUD);
  assert.equal(v.claims.exp, T + 300);
  assert.equal(v.claims.iat, T);
  assert.equal(v.claims.extra, 'x');
  // The same token signed by hand (the helper used by the header cases below) is accepted too.
  await accepted(signRaw(HEADER, claims()));
});

test('aud as an array containing the audience is accepted; an array without it is refused', async () => {
  await accepted(await signJose(claims({ aud: ['other', AUD] })));
  await assert.rejects(validate(await signJose(claims({ aud: ['other', 'third'] }))), refused('FLYME_TOKEN_WRONG_AUDIENCE', 'audience'));
});

test('wrong audience → FLYME_TOKEN_WRONG_AUDIENCE (control: the right audience)', async () => {
  const token = await signJose(claims());
  await accepted(token, AUD);
  await assert.rejects(validate(token, 'someone-else'), refused('FLYME_TOKEN_WRONG_AUDIENCE', 'audience'));
});

test('aud missing (or empty) → reason aud', async () => {
  await accepted(await signJose(claims()));
  await assert.rejects(validate(await signJose(without(claims(), 'aud'))), invalid('aud'));
  await assert.rejects(validate(await signJose(claims({ aud: [] }))), invalid('aud'));
});

test('expired → FLYME_TOKEN_EXPIRED (control: same token before exp)', async () => {
  const token = await signJose(claims({ exp: T - 1 }));
  await accepted(token, AUD, bundles, (T - 2) * 1000);
  await assert.rejects(validate(token), refused('FLYME_TOKEN_EXPIRED', 'expired'));
  // exp equal to now is already expired.
  await assert.rejects(validate(token, AUD, bundles, (T - 1) * 1000), refused('FLYME_TOKEN_EXPIRED'));
});

test('exp missing (or not a number) → reason exp', async () => {
  await accepted(await signJose(claims()));
  await assert.rejects(validate(await signJose(without(claims(), 'exp'))), invalid('exp'));
  await assert.rejects(validate(signRaw(HEADER, claims({ exp: String(T + 300) }))), invalid('exp'));
});

test('no kid → reason kid; unknown kid → reason signature', async () => {
  await accepted(await signJose(claims(), { alg: 'ES256', kid: 'k1' }));
  await assert.rejects(validate(await signJose(claims(), { alg: 'ES256', typ: 'JWT' })), invalid('kid'));
  await assert.rejects(validate(signRaw({ alg: 'ES256', kid: '', typ: 'JWT' }, claims())), invalid('kid'));
  await assert.rejects(validate(await signJose(claims(), { alg: 'ES256', kid: 'k2', typ: 'JWT' })), invalid('signature'));
});

test('alg none is refused (empty signature: format or alg, code FLYME_TOKEN_INVALID)', async () => {
  await accepted(signRaw(HEADER, claims()));
  const unsecured = `${b64({ alg: 'none', kid: 'k1', typ: 'JWT' })}.${b64(claims())}.`;
  await assert.rejects(validate(unsecured), refused('FLYME_TOKEN_INVALID'));
  // With a (meaningless) non-empty third part, the header's alg is what refuses it.
  await assert.rejects(validate(`${unsecured}AAAA`), invalid('alg'));
});

test('HS256 → reason alg, even when the HMAC key is the public JWK text', async () => {
  await accepted(signRaw(HEADER, claims()));
  const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(claims())}`;
  const mac = createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest('base64url');
  await assert.rejects(validate(`${input}.${mac}`), invalid('alg'));
  // A header without alg at all is refused the same way.
  await assert.rejects(validate(signRaw({ kid: 'k1', typ: 'JWT' }, claims())), invalid('alg'));
});

test('EdDSA → reason alg, even when its key is in the bundle', async () => {
  const ed = await generateKeyPair('EdDSA', { extractable: true });
  const edJwk: JWK = { ...(await exportJWK(ed.publicKey)), kid: 'k1', use: 'jwt-svid' };
  const edBundles = JwtBundleSet.from({ [TD]: { keys: [edJwk] } });
  // Control: the bundle holds a usable key entry (ES256 tokens reach the signature check, not no-bundle).
  await assert.rejects(validate(await signJose(claims()), AUD, edBundles), invalid('signature'));
  await accepted(await signJose(claims()));
  await assert.rejects(validate(await signJose(claims(), { alg: 'EdDSA', kid: 'k1', typ: 'JWT' }, ed.privateKey), AUD, edBundles), invalid('alg'));
});

test('typ at+jwt → reason typ; typ JOSE and no typ are accepted', async () => {
  await accepted(await signJose(claims(), { alg: 'ES256', kid: 'k1', typ: 'JOSE' }));
  await accepted(await signJose(claims(), { alg: 'ES256', kid: 'k1' }));
  await accepted(await signJose(claims(), { alg: 'ES256', kid: 'k1', typ: 'JWT' }));
  await assert.rejects(validate(await signJose(claims(), { alg: 'ES256', kid: 'k1', typ: 'at+jwt' })), invalid('typ'));
});

test('headers jku, x5u, jwk, x5c and crit are each refused (reason header); the same token without them is accepted', async () => {
  await accepted(signRaw(HEADER, claims()));
  const extras: Record<string, unknown> = {
    jku: 'https://example.org/jwks.json',
    x5u: 'https://example.org/cert.pem',
    jwk: { ...publicJwk },
    x5c: ['MIIB'],
    crit: ['exp'],
  };
  for (const [name, value] of Object.entries(extras)) {
    await assert.rejects(validate(signRaw({ ...HEADER, [name]: value }, claims())), invalid('header'), name);
  }
});

test('sub not a SPIFFE ID → reason sub; sub missing → reason sub', async () => {
  await accepted(await signJose(claims()));
  await assert.rejects(validate(await signJose(claims({ sub: 'web' }))), invalid('sub'));
  await assert.rejects(validate(await signJose(claims({ sub: 'SPIFFE://example.org/web' }))), invalid('sub'));
  await assert.rejects(validate(await signJose(without(claims(), 'sub'))), invalid('sub'));
});

test('sub in a trust domain without a bundle → reason no-bundle', async () => {
  await accepted(await signJose(claims()));
  await assert.rejects(validate(await signJose(claims({ sub: 'spiffe://other.org/x' }))), invalid('no-bundle'));
});

test('signed by another key but carrying kid k1 → reason signature', async () => {
  await accepted(signRaw(HEADER, claims()));
  await assert.rejects(validate(await signJose(claims(), HEADER, other.privateKey)), invalid('signature'));
  await assert.rejects(validate(signRaw(HEADER, claims(), otherPrivKeyObject)), invalid('signature'));
  // A tampered payload under a genuine signature is refused too.
  const [h, , s] = signRaw(HEADER, claims()).split('.');
  await assert.rejects(validate(`${h}.${b64(claims({ aud: 'x', sub: 'spiffe://example.org/admin' }))}.${s}`), invalid('signature'));
});

test('JWS JSON serialization, a trailing space, and a 2-part token → reason format', async () => {
  const token = await signJose(claims());
  await accepted(token);
  const [h, p, s] = token.split('.') as [string, string, string];
  await assert.rejects(validate(JSON.stringify({ protected: h, payload: p, signature: s })), invalid('format'));
  await assert.rejects(validate(`${token} `), invalid('format'));
  await assert.rejects(validate(` ${token}`), invalid('format'));
  await assert.rejects(validate(`${h}.${p}`), invalid('format'));
  await assert.rejects(validate(`${token}.${s}`), invalid('format'));
  await assert.rejects(validate(''), invalid('format'));
});

test('JwtBundleSet.from ignores keys whose use is not jwt-svid', async () => {
  const token = await signJose(claims());
  const x509Only = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1', use: 'x509-svid' }] } });
  assert.deepEqual(x509Only.trustDomains, []);
  assert.equal(x509Only.jwks('example.org'), undefined);
  await assert.rejects(validate(token, AUD, x509Only), invalid('no-bundle'));
  // Control: the same key with use jwt-svid (or no use) is accepted.
  const withUse = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1', use: 'jwt-svid' }] } });
  assert.deepEqual(withUse.trustDomains, ['example.org']);
  await accepted(token, AUD, withUse);
  await accepted(token, AUD, JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1' }] } }));
  // Mixed set: only the jwt-svid key is kept.
  const mixed = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1', use: 'jwt-svid' }, { ...publicJwk, kid: 'x1', use: 'x509-svid' }] } });
  assert.deepEqual(mixed.jwks('example.org')?.keys.map((k) => k.kid), ['k1']);
});

test('JwtBundleSet.from ignores keys without kid (and private keys)', async () => {
  const token = await signJose(claims());
  const noKid = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, use: 'jwt-svid' }] } });
  assert.deepEqual(noKid.trustDomains, []);
  await assert.rejects(validate(token, AUD, noKid), invalid('no-bundle'));
  const emptyKid = JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: '', use: 'jwt-svid' }] } });
  await assert.rejects(validate(token, AUD, emptyKid), invalid('no-bundle'));
  const priv = JwtBundleSet.from({ [TD]: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', use: 'jwt-svid' }] } });
  await assert.rejects(validate(token, AUD, priv), invalid('no-bundle'));
  // Control: the same key with its kid.
  await accepted(token, AUD, JwtBundleSet.from({ [TD]: { keys: [{ ...publicJwk, kid: 'k1', use: 'jwt-svid' }] } }));
});

test('JwtBundleSet.from accepts a bare trust domain name and JWKS bytes', async () => {
  const token = await signJose(claims());
  const jwks = { keys: [{ ...publicJwk, kid: 'k1', use: 'jwt-svid' }] };
  const bare = JwtBundleSet.from({ 'example.org': jwks });
  await accepted(token, AUD, bare);
  const bytes = JwtBundleSet.from({ [TD]: new TextEncoder().encode(JSON.stringify(jwks)) });
  await accepted(token, AUD, bytes);
  assert.deepEqual(bytes.jwks('example.org')?.keys.map((k) => k.kid), ['k1']);
  assert.ok(bytes.keyResolver('example.org'));
  assert.equal(bytes.keyResolver('other.org'), undefined);
});
