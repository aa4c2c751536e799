/**
 * Signing keys: a private JWK (ES256, EdDSA) or an HS256 secret JWK, always with a `kid`,
 * and generation of new ones for `flyme token keygen`.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { flymeError } from '../../errors.js';
import { checkAlgorithms, isValidKid, type JwtAlgorithm } from './algorithms.js';
import { algorithmOfJwk, asJwk, hmacSecretOf, publicJwkOf } from './jwk-check.js';

/** An imported signing key. */
export interface SigningKey {
  kid: string;
  alg: JwtAlgorithm;
  key: CryptoKey | Uint8Array;
}

/** A freshly generated key: the private (or secret) JWK, and the public JWK when asymmetric. */
export interface GeneratedKey {
  kid: string;
  alg: JwtAlgorithm;
  privateJwk: JWK;
  /** Absent for HS256: there is no public half. */
  publicJwk?: JWK;
}

/**
 * Imports a private JWK for signing. Throws FLYME_INVALID_CONFIG for a public key, a missing
 * kid, an unsupported key type or an HS256 secret under 32 bytes.
 *
 * @example
 * const key = await importSigningKey(JSON.parse(readFileSync('k1.private.jwk.json', 'utf8')))
 */
export async function importSigningKey(value: unknown): Promise<SigningKey> {
  const jwk = asJwk(value, 'signing key');
  const alg = algorithmOfJwk(jwk, 'signing key');
  if (alg === 'HS256') return { kid: jwk.kid, alg, key: hmacSecretOf(jwk, 'signing key') };
  if (typeof jwk.d !== 'string') throw flymeError('FLYME_INVALID_CONFIG', 'signing key: a private key is required (the JWK has no "d")');
  try {
    const key = await importJWK({ ...jwk, alg }, alg);
    return { kid: jwk.kid, alg, key: key as CryptoKey };
  } catch (cause) {
    throw flymeError('FLYME_INVALID_CONFIG', 'signing key: the JWK could not be imported', undefined, cause);
  }
}

/**
 * Generates a signing key with the given kid. HS256 secrets are 32 random bytes.
 *
 * @example
 * const { privateJwk, publicJwk } = await generateSigningKey('ES256', '2026-01')
 */
export async function generateSigningKey(alg: JwtAlgorithm, kid: string): Promise<GeneratedKey> {
  checkAlgorithms([alg]);
  if (!isValidKid(kid)) throw flymeError('FLYME_INVALID_CONFIG', 'kid must be 1-128 characters of A-Z a-z 0-9 _ . -');
  if (alg === 'HS256') {
    const privateJwk: JWK = { kty: 'oct', kid, alg, use: 'sig', k: randomBytes(32).toString('base64url') };
    return { kid, alg, privateJwk };
  }
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const privateJwk: JWK = { ...(await exportJWK(pair.privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateJwk, publicJwk: publicJwkOf(privateJwk) };
}
