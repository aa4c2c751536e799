/**
 * The JWS algorithms FlyMe accepts, and the rule for HMAC secrets.
 * `none` is not representable here, so it can never reach an allow-list.
 */
import { flymeError } from '../../errors.js';

/** Algorithms FlyMe can sign and verify with. */
export type JwtAlgorithm = 'ES256' | 'EdDSA' | 'HS256';

/** The allow-list when none is configured: asymmetric only. */
export const DEFAULT_ALGORITHMS: readonly JwtAlgorithm[] = Object.freeze(['ES256', 'EdDSA']);

/** Minimum HS256 secret length in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_HMAC_SECRET_BYTES = 32;

/** Longest `kid` accepted; a kid is an opaque map key, never a path. */
export const MAX_KID_LENGTH = 128;
const KID = /^[A-Za-z0-9_.-]+$/;

/**
 * Type guard for {@link JwtAlgorithm}.
 *
 * @example
 * isJwtAlgorithm('ES256') // → true; isJwtAlgorithm('none') // → false
 */
export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return value === 'ES256' || value === 'EdDSA' || value === 'HS256';
}

/**
 * Validates an allow-list (non-empty, known algorithms only). Throws FLYME_INVALID_CONFIG.
 *
 * @example
 * checkAlgorithms(['ES256', 'HS256'])
 */
export function checkAlgorithms(algs: readonly unknown[]): JwtAlgorithm[] {
  if (!Array.isArray(algs) || algs.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'the algorithm allow-list must not be empty');
  for (const alg of algs) {
    if (!isJwtAlgorithm(alg)) {
      throw flymeError('FLYME_INVALID_CONFIG', `algorithm ${JSON.stringify(String(alg).slice(0, 32))} is not supported (use ES256, EdDSA or HS256)`);
    }
  }
  return [...new Set(algs as JwtAlgorithm[])];
}

/**
 * Refuses HMAC secrets shorter than {@link MIN_HMAC_SECRET_BYTES}. Throws FLYME_INVALID_CONFIG.
 *
 * @example
 * checkHmacSecret(randomBytes(32))
 */
export function checkHmacSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length < MIN_HMAC_SECRET_BYTES) {
    throw flymeError('FLYME_INVALID_CONFIG', `an HS256 secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes`, {
      minBytes: MIN_HMAC_SECRET_BYTES,
    });
  }
}

/**
 * True when `kid` is a non-empty string of at most 128 characters from `[A-Za-z0-9_.-]`.
 *
 * @example
 * isValidKid('2026-01') // → true; isValidKid('../../etc/passwd') // → false
 */
export function isValidKid(kid: unknown): kid is string {
  return typeof kid === 'string' && kid.length > 0 && kid.length <= MAX_KID_LENGTH && KID.test(kid) && kid !== '.' && kid !== '..';
}
