/**
 * Shape checks for the JWKs FlyMe reads from files: which key type goes with which algorithm,
 * kid rules, and the HS256 secret length. Internal to src/auth/jwt.
 */
import { Buffer } from 'node:buffer';
import type { JWK } from 'jose';
import { flymeError } from '../../errors.js';
import { MIN_HMAC_SECRET_BYTES, isValidKid, type JwtAlgorithm } from './algorithms.js';

/** The algorithm a JWK is for, from its `kty`/`crv` (and its `alg` when present, which must agree). */
export function algorithmOfJwk(jwk: JWK, where: string): JwtAlgorithm {
  let alg: JwtAlgorithm;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') alg = 'EdDSA';
  else if (jwk.kty === 'oct') alg = 'HS256';
  else throw invalid(`${where}: unsupported key type (use EC P-256, OKP Ed25519 or oct)`);
  if (jwk.alg !== undefined && !(jwk.alg === alg || (alg === 'EdDSA' && jwk.alg === 'Ed25519'))) {
    throw invalid(`${where}: "alg" ${JSON.stringify(String(jwk.alg).slice(0, 16))} does not match the key type`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid(`${where}: "use" must be "sig"`);
  return alg;
}

/** Checks that `value` is a JWK object with a valid kid; returns it typed. */
export function asJwk(value: unknown, where: string): JWK & { kid: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${where}: not a JSON object`);
  const jwk = value as JWK;
  if (typeof jwk.kty !== 'string') throw invalid(`${where}: missing "kty"`);
  if (!isValidKid(jwk.kid)) throw invalid(`${where}: "kid" is missing or invalid (1-128 chars of A-Z a-z 0-9 _ . -)`);
  return jwk as JWK & { kid: string };
}

/** Decodes an oct JWK's secret and enforces the 32-byte minimum. */
export function hmacSecretOf(jwk: JWK, where: string): Uint8Array {
  const k = typeof jwk.k === 'string' && /^[A-Za-z0-9_-]*$/.test(jwk.k) ? Buffer.from(jwk.k, 'base64url') : undefined;
  if (!k || k.length < MIN_HMAC_SECRET_BYTES) {
    throw flymeError('FLYME_INVALID_CONFIG', `${where}: an HS256 secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes`, {
      minBytes: MIN_HMAC_SECRET_BYTES,
    });
  }
  return new Uint8Array(k);
}

/** The public half of an asymmetric JWK (private members removed). */
export function publicJwkOf(jwk: JWK): JWK {
  const { kty, crv, x, y, kid, alg } = jwk;
  const out: JWK = { kty, kid, use: 'sig' };
  if (crv !== undefined) out.crv = crv;
  if (x !== undefined) out.x = x;
  if (y !== undefined) out.y = y;
  if (alg !== undefined) out.alg = alg;
  return out;
}

function invalid(message: string) {
  return flymeError('FLYME_INVALID_CONFIG', message);
}
