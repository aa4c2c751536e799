// Edges where the node:crypto signature check (fast-jwt, src/auth/jwt/signature-check.ts) could differ from
// jose's: crit headers, a token naming a key of another algorithm, a DER (not JOSE) ECDSA signature, an HS256
// secret verifier, and a key replaced under the same kid (its cached verifier must not outlive the key).
// Each refusal has a passing control.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { SignJWT, importJWK, type CryptoKey, type JWTPayload } from 'jose';
import { FlyMeError } from '../../../src/errors.js';
import { TokenVerifier, generateSigningKey, type GeneratedKey } from '../../../src/auth/index.js';
import { VerificationKeySet } from '../../../src/auth/jwt/verification-keys.js';
import type { KeySource } from '../../../src/auth/jwt/jwks-source.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const NOW = T0.getTime() / 1000;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const refused = (code: string, reason?: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (reason !== undefined) assert.equal((e.data as { reason?: string } | undefined)?.reason, reason, e.message);
  return true;
};
const claims = (): JWTPayload => ({ iss: 'flyme', sub: 'svc', aud: 'flymed', iat: NOW, nbf: NOW, exp: NOW + 600, jti: `j-${Math.random()}` });

let es: GeneratedKey;
let ed: GeneratedKey;
let esPriv: CryptoKey;
let edPriv: CryptoKey;

function verifier(keys: object[] | KeySource, algorithms: ('ES256' | 'EdDSA' | 'HS256')[] = ['ES256', 'EdDSA']) {
  return new TokenVerifier({ keys: Array.isArray(keys) ? { keys } : keys, audience: 'flymed', issuer: 'flyme', algorithms, clock: () => T0 });
}

describe('signature check edges (each with a passing control)', () => {
  before(async () => {
    es = await generateSigningKey('ES256', 'es');
    ed = await generateSigningKey('EdDSA', 'ed');
    esPriv = (await importJWK(es.privateJwk, 'ES256')) as CryptoKey;
    edPriv = (await importJWK(ed.privateJwk, 'EdDSA')) as CryptoKey;
  });

  // jose accepted crit ["b64"] with b64: true (RFC 7797 it knows); FlyMe now refuses every crit (docs/tokens.md).
  it('a crit header is refused (FlyMe understands no extension); the same token without it verifies', async () => {
    const v = verifier([es.publicJwk!]);
    const key = createPrivateKey({ key: es.privateJwk as never, format: 'jwk' });
    const signed = (header: object) => {
      const input = `${b64({ alg: 'ES256', kid: 'es', typ: 'JWT', ...header })}.${b64(claims())}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    for (const header of [{ crit: ['x'], x: 1 }, { crit: ['b64'], b64: true }, { crit: [] }]) {
      await assert.rejects(v.verify(signed(header)), refused('FLYME_TOKEN_INVALID'), JSON.stringify(header));
    }
    await v.verify(signed({}));
  });

  it('a token whose alg is not the algorithm of the key its kid names is refused (both allowed)', async () => {
    const v = verifier([es.publicJwk!, ed.publicJwk!]);
    const edAsEs = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: 'es', typ: 'JWT' }).sign(edPriv);
    await assert.rejects(v.verify(edAsEs), refused('FLYME_TOKEN_INVALID'));
    const esAsEd = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'ed', typ: 'JWT' }).sign(esPriv);
    await assert.rejects(v.verify(esAsEd), refused('FLYME_TOKEN_INVALID'));
    await v.verify(await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: 'ed', typ: 'JWT' }).sign(edPriv));
  });

  it('an ES256 signature in DER form is refused; the same bytes signed in JOSE (r||s) form verify', async () => {
    const v = verifier([es.publicJwk!]);
    const input = `${b64({ alg: 'ES256', kid: 'es', typ: 'JWT' })}.${b64(claims())}`;
    const key = createPrivateKey({ key: es.privateJwk as never, format: 'jwk' });
    const der = cryptoSign('sha256', Buffer.from(input), key).toString('base64url');
    await assert.rejects(v.verify(`${input}.${der}`), refused('FLYME_TOKEN_INVALID', 'signature'));
    const jose = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    await v.verify(`${input}.${jose}`);
  });

  it('iss, aud and nbf of the wrong type keep the codes jose gave them; the well-typed token verifies', async () => {
    const v = verifier([es.publicJwk!]);
    const key = createPrivateKey({ key: es.privateJwk as never, format: 'jwk' });
    const signed = (over: object) => {
      const input = `${b64({ alg: 'ES256', kid: 'es', typ: 'JWT' })}.${b64({ ...claims(), ...over })}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    await assert.rejects(v.verify(signed({ iss: 5 })), refused('FLYME_TOKEN_WRONG_ISSUER'));
    await assert.rejects(v.verify(signed({ aud: 5 })), refused('FLYME_TOKEN_WRONG_AUDIENCE'));
    await assert.rejects(v.verify(signed({ aud: [1, 'flymed'] })), refused('FLYME_TOKEN_INVALID'));
    await assert.rejects(v.verify(signed({ nbf: 'soon' })), refused('FLYME_TOKEN_EXPIRED', 'not_yet_valid'));
    await v.verify(signed({ aud: ['other', 'flymed'] }));
  });

  it('HS256: the secret verifies its tokens; a token under another secret is refused', async () => {
    const hs = await generateSigningKey('HS256', 'hs');
    const other = await generateSigningKey('HS256', 'hs');
    const v = verifier([hs.privateJwk], ['HS256']);
    const mk = async (k: GeneratedKey) => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'hs', typ: 'JWT' })
      .sign((await importJWK(k.privateJwk, 'HS256')) as Uint8Array);
    await v.verify(await mk(hs));
    await assert.rejects(v.verify(await mk(other)), refused('FLYME_TOKEN_INVALID', 'signature'));
  });

  it('a key replaced under the same kid: tokens of the old key are refused at once, the new key\'s verify', async () => {
    const next = await generateSigningKey('ES256', 'es');
    let set = VerificationKeySet.fromJwks({ keys: [es.publicJwk] }, ['ES256']);
    const v = verifier({ current: () => set });
    const old = () => new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'es', typ: 'JWT' }).sign(esPriv);
    await v.verify(await old());
    set = VerificationKeySet.fromJwks({ keys: [next.publicJwk] }, ['ES256']);
    await assert.rejects(v.verify(await old()), refused('FLYME_TOKEN_INVALID', 'signature'));
    const nextPriv = (await importJWK(next.privateJwk, 'ES256')) as CryptoKey;
    await v.verify(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'es', typ: 'JWT' }).sign(nextPriv));
  });
});
