/**
 * An immutable set of verification keys built from a JWKS: public ES256/EdDSA keys, and HS256
 * secrets only when the allow-list names HS256. Key selection is by `kid` only — a token
 * without a kid is refused, and there is no "try every key" fallback.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type CryptoKey } from 'jose';
import { flymeError } from '../../errors.js';
import { isValidKid, type JwtAlgorithm } from './algorithms.js';
import { algorithmOfJwk, asJwk, hmacSecretOf } from './jwk-check.js';

/**
 * Verification keys, looked up by `kid` and algorithm.
 *
 * @example
 * const keys = VerificationKeySet.fromJwks(JSON.parse(text), ['ES256', 'EdDSA'])
 * keys.kids // → ['2026-01', '2026-02']
 */
export class VerificationKeySet {
  /** Key ids in the set, in file order. */
  readonly kids: readonly string[];
  readonly #local: ReturnType<typeof createLocalJWKSet> | undefined;
  readonly #secrets: ReadonlyMap<string, Uint8Array>;
  readonly #fingerprints = new Map<string, string>();
  /** Per kid: the one algorithm its key verifies and the key as node:crypto takes it (SPKI PEM, or the HS256 secret). */
  readonly #material = new Map<string, VerificationKeyMaterial>();

  private constructor(kids: string[], publicKeys: JWK[], secrets: Map<string, Uint8Array>) {
    this.kids = Object.freeze(kids);
    for (const k of publicKeys) {
      const { kty, crv, x, y, n, e } = k;
      this.#fingerprints.set(k.kid!, createHash('sha256').update(JSON.stringify({ kty, crv, x, y, n, e })).digest('base64url'));
      let pem: string;
      try {
        pem = createPublicKey({ key: { kty, crv, x, y } as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      } catch (err) {
        throw flymeError('FLYME_INVALID_CONFIG', `JWKS key ${JSON.stringify(k.kid)}: not a valid ${crv ?? kty} public key`, undefined, err);
      }
      this.#material.set(k.kid!, { alg: kty === 'OKP' ? 'EdDSA' : 'ES256', key: pem });
    }
    for (const [kid, secret] of secrets) {
      this.#fingerprints.set(kid, createHash('sha256').update('oct:').update(secret).digest('base64url'));
      this.#material.set(kid, { alg: 'HS256', key: Buffer.from(secret) });
    }
    this.#local = publicKeys.length > 0 ? createLocalJWKSet({ keys: publicKeys }) : undefined;
    this.#secrets = secrets;
  }

  /**
   * Validates a JWKS (`{ keys: [...] }`, or one bare JWK) against the allow-list.
   * Throws FLYME_INVALID_CONFIG: duplicate or missing kid, private members in a public key,
   * a secret when HS256 is not allowed, a secret under 32 bytes, an unsupported key type.
   *
   * @example
   * VerificationKeySet.fromJwks({ keys: [publicJwk] }, ['ES256'])
   */
  static fromJwks(input: unknown, algorithms: readonly JwtAlgorithm[]): VerificationKeySet {
    const list = jwkList(input);
    const kids: string[] = [];
    const publicKeys: JWK[] = [];
    const secrets = new Map<string, Uint8Array>();
    list.forEach((raw, i) => {
      const where = `JWKS key #${i}`;
      const jwk = asJwk(raw, where);
      if (kids.includes(jwk.kid)) throw flymeError('FLYME_INVALID_CONFIG', `${where}: duplicate kid ${JSON.stringify(jwk.kid)}`);
      const alg = algorithmOfJwk(jwk, where);
      if (alg === 'HS256') {
        if (!algorithms.includes('HS256')) throw flymeError('FLYME_INVALID_CONFIG', `${where}: holds an HS256 secret but HS256 is not in the allow-list`);
        secrets.set(jwk.kid, hmacSecretOf(jwk, where));
      } else {
        if ('d' in jwk) throw flymeError('FLYME_INVALID_CONFIG', `${where}: a verification JWKS must hold public keys only`);
        publicKeys.push({ ...jwk, alg: alg === 'EdDSA' && jwk.alg === 'Ed25519' ? 'Ed25519' : alg });
      }
      kids.push(jwk.kid);
    });
    if (kids.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'the JWKS holds no keys');
    return new VerificationKeySet(kids, publicKeys, secrets);
  }

  /**
   * A digest of the key material under `kid` (undefined when the set has no such kid): a token's grant
   * outlives a JWKS reload only when the key that signed it is still there, unchanged.
   *
   * @example
   * keys.keyFingerprint('2026-01') // → 'q1w2…'
   */
  keyFingerprint(kid: string): string | undefined {
    return this.#fingerprints.get(kid);
  }

  /**
   * The key under `kid` when it verifies `alg` (the algorithm is pinned per key: an ES256 key never checks an
   * HS256 or EdDSA token); undefined otherwise.
   *
   * @example
   * keys.keyFor('2026-01', 'ES256') // → { alg: 'ES256', key: '-----BEGIN PUBLIC KEY-----…' }
   */
  keyFor(kid: string, alg: unknown): VerificationKeyMaterial | undefined {
    const material = this.#material.get(kid);
    return material !== undefined && material.alg === alg ? material : undefined;
  }

  /**
   * The key for a token's protected header. Throws FLYME_TOKEN_INVALID when the header has no
   * usable kid or no key matches (kid and algorithm family must both match).
   *
   * @example
   * await jwtVerify(token, (header) => keys.resolve(header), { algorithms: ['ES256'] })
   */
  async resolve(header: JWSHeaderParameters): Promise<CryptoKey | Uint8Array> {
    const { kid, alg } = header;
    if (!isValidKid(kid)) throw flymeError('FLYME_TOKEN_INVALID', 'the token header has no valid "kid"', { claim: 'kid' });
    if (alg === 'HS256') {
      const secret = this.#secrets.get(kid);
      if (secret) return secret;
    } else if (this.#local && (alg === 'ES256' || alg === 'EdDSA' || alg === 'Ed25519')) {
      return this.#local({ alg, kid });
    }
    throw flymeError('FLYME_TOKEN_INVALID', 'no key in the key set matches the token\'s kid and algorithm', { claim: 'kid', kid });
  }
}

/** One verification key as node:crypto takes it, with the single algorithm it verifies. */
export interface VerificationKeyMaterial {
  readonly alg: JwtAlgorithm;
  /** SPKI PEM of a public key, or the HS256 secret. */
  readonly key: string | Buffer;
}

function jwkList(input: unknown): unknown[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw flymeError('FLYME_INVALID_CONFIG', 'a JWKS must be a JSON object');
  if ('keys' in input) {
    const keys = (input as JSONWebKeySet).keys as unknown;
    if (!Array.isArray(keys)) throw flymeError('FLYME_INVALID_CONFIG', 'JWKS "keys" must be an array');
    return keys;
  }
  return [input];
}
