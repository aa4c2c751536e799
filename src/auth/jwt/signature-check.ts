/**
 * Signature and registered-claim verification of a compact JWS with fast-jwt (nearform), which verifies
 * synchronously with node:crypto — jose 6 verifies through WebCrypto (a thread-pool round trip per token,
 * about half the rate of crypto.verify). jose still decodes the protected header (once per distinct header text,
 * see MAX_HEADERS) and handles keys/signing.
 *
 * Checks, in jose's order and with the same FlyMe errors as before (errors-map.ts):
 * header (FlyMe's forbidden headers, typ) → alg in the allow-list → kid names a key of that algorithm (the
 * algorithm is pinned per key: no alg confusion, no `none`) → fast-jwt: signature, `crit` (none understood) →
 * every required claim present → iss, aud → nbf, exp, iat (type, clock skew, maximum age) as jose checked them.
 */
import { createVerifier } from 'fast-jwt';
import { decodeProtectedHeader, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { flymeError } from '../../errors.js';
import { isValidKid, type JwtAlgorithm } from './algorithms.js';
import { REQUIRED_CLAIMS, checkHeader } from './claims.js';
import { mapFastJwtError, mapJoseError } from './errors-map.js';
import type { VerificationKeyMaterial, VerificationKeySet } from './verification-keys.js';

type Verify = (token: string) => { header: JWSHeaderParameters; payload: JWTPayload };

/**
 * Most decoded protected headers remembered by their encoded text. An issuer signs every token with the same
 * header (alg, kid, typ), so decoding it again per token is wasted; only headers that passed every header check
 * are remembered, and a full table is emptied (garbage headers cannot grow it, nor make a hit wrong: the entry is
 * what decoding that exact text gives).
 */
const MAX_HEADERS = 64;

/** The policy every token is verified against (TokenVerifier's options). */
export interface SignatureCheckOptions {
  algorithms: readonly JwtAlgorithm[];
  audience: readonly string[];
  issuer: readonly string[] | undefined;
  clockSkewSeconds: number;
  maxLifetimeSeconds: number;
}

/** Verifies tokens against a key set; one fast-jwt verifier per key entry, living exactly as long as that entry (and its set). */
export class SignatureCheck {
  readonly #options: SignatureCheckOptions;
  readonly #verifiers = new WeakMap<VerificationKeyMaterial, Verify>();
  readonly #headers = new Map<string, Readonly<JWSHeaderParameters>>();

  constructor(options: SignatureCheckOptions) {
    this.#options = options;
  }

  /** Header, signature and registered claims; throws FLYME_TOKEN_* errors. `token` already matched the compact form. */
  verify(token: string, keys: VerificationKeySet, now: Date): { header: JWSHeaderParameters; payload: JWTPayload } {
    let header: JWSHeaderParameters = this.#checkedHeader(token);
    const { alg, kid } = header as { alg: string; kid: string };
    const verify = this.#verifierFor(keys, kid, alg);
    let payload: JWTPayload;
    try {
      ({ header, payload } = verify(token));
    } catch (err) {
      throw mapFastJwtError(err);
    }
    for (const claim of REQUIRED_CLAIMS) {
      if (!(claim in payload)) throw flymeError('FLYME_TOKEN_INVALID', `the token has no "${claim}" claim`, { claim, reason: 'missing' });
    }
    const { issuer, audience } = this.#options;
    if (issuer !== undefined && !issuer.includes(payload.iss as string)) {
      throw flymeError('FLYME_TOKEN_WRONG_ISSUER', 'the token issuer is not trusted', { claim: 'iss' });
    }
    if (!audiencePresent(payload.aud, audience)) throw flymeError('FLYME_TOKEN_WRONG_AUDIENCE', 'the token is for another audience', { claim: 'aud' });
    checkTimes(payload, Math.floor(now.getTime() / 1000), this.#options.clockSkewSeconds, this.#options.maxLifetimeSeconds);
    return { header, payload };
  }

  /** The protected header, decoded (or remembered by its encoded text) and checked: alg allowed, no forbidden header, a valid kid. */
  #checkedHeader(token: string): Readonly<JWSHeaderParameters> {
    const encoded = token.slice(0, token.indexOf('.'));
    const known = this.#headers.get(encoded);
    if (known !== undefined) return known;
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
    } catch (err) {
      throw mapJoseError(err);
    }
    const { alg, kid } = header;
    if (typeof alg !== 'string' || alg === '') throw flymeError('FLYME_TOKEN_INVALID', 'the token is malformed', { reason: 'malformed' });
    if (!this.#options.algorithms.includes(alg as JwtAlgorithm)) {
      throw flymeError('FLYME_TOKEN_INVALID', 'the token algorithm is not allowed', { claim: 'alg', reason: 'alg_not_allowed' });
    }
    checkHeader(header);
    if (!isValidKid(kid)) throw flymeError('FLYME_TOKEN_INVALID', 'the token header has no valid "kid"', { claim: 'kid' });
    if (this.#headers.size >= MAX_HEADERS) this.#headers.clear();
    this.#headers.set(encoded, Object.freeze(header));
    return header;
  }

  #verifierFor(keys: VerificationKeySet, kid: string, alg: string): Verify {
    const material = keys.keyFor(kid, alg);
    if (material === undefined) {
      throw flymeError('FLYME_TOKEN_INVALID', 'no single key matches the token\'s kid and algorithm', { claim: 'kid', reason: 'no_key' });
    }
    const cached = this.#verifiers.get(material);
    if (cached !== undefined) return cached;
    // Registered claims are checked after it exactly as jose checked them (verify above); time claims with the
    // verifier's clock (fast-jwt reads Date.now()).
    const verify: Verify = createVerifier({
      key: material.key,
      algorithms: [material.alg],
      complete: true,
      cache: false,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
    // Keyed by the key's own (immutable) entry of its set: a reloaded set has new entries, so a new verifier.
    this.#verifiers.set(material, verify);
    return verify;
  }
}

/** jose 6's time checks (validateClaimsSet), same order and boundaries, as FlyMe errors. */
function checkTimes(payload: JWTPayload, now: number, tolerance: number, maxAge: number): void {
  const iat = numericDate(payload, 'iat');
  const nbf = numericDate(payload, 'nbf');
  if (nbf > now + tolerance) throw flymeError('FLYME_TOKEN_EXPIRED', 'the token is not yet valid (nbf is in the future)', { claim: 'nbf', reason: 'not_yet_valid' });
  const exp = numericDate(payload, 'exp');
  if (exp <= now - tolerance) throw flymeError('FLYME_TOKEN_EXPIRED', 'the token is expired', { claim: 'exp', reason: 'expired' });
  const age = now - iat;
  if (age - tolerance > maxAge) throw flymeError('FLYME_TOKEN_EXPIRED', 'the token is too old', { claim: 'iat', reason: 'expired' });
  if (age < -tolerance) throw flymeError('FLYME_TOKEN_EXPIRED', 'the token is not yet valid (iat is in the future)', { claim: 'iat', reason: 'not_yet_valid' });
}

function numericDate(payload: JWTPayload, claim: 'iat' | 'nbf' | 'exp'): number {
  const value = payload[claim];
  if (typeof value === 'number') return value;
  // As mapped from jose: any failed nbf check read as "not yet valid".
  if (claim === 'nbf') throw flymeError('FLYME_TOKEN_EXPIRED', 'the token is not yet valid (nbf is in the future)', { claim, reason: 'not_yet_valid' });
  throw flymeError('FLYME_TOKEN_INVALID', `the token's "${claim}" is invalid`, { claim, reason: 'invalid' });
}

/** jose's audience rule: a string aud in the list, or an array aud sharing a value with it (types: checkClaims). */
function audiencePresent(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && accepted.some((a) => aud.includes(a));
}
