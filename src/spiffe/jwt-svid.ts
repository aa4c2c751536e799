/**
 * JWT-SVID validation per the JWT-SVID specification: compact serialization only; `alg` from RFC 7518
 * §3.3–3.5 (ES*, RS*, PS*; never none, HS*, EdDSA); `kid` required and looked up only in the bundle of the
 * subject's trust domain (keys with use `jwt-svid`); `typ` absent, `JWT` or `JOSE`; no `jku`, `x5u`, `jwk`,
 * `x5c` or `crit` headers; `sub` a SPIFFE ID (a string); `exp` required and in the future; `nbf`, when
 * present, reached (30 s leeway); `aud` required and containing the audience.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JWK, type JWTPayload } from 'jose';
import { flymeError, FlyMeError } from '../errors.js';
import { SpiffeId } from '../identity/spiffe-id.js';

export const JWT_SVID_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'];
const MAX_TOKEN = 16 * 1024;
/** Clock-skew allowance for `nbf` between the issuing CA and this validator. */
const NBF_LEEWAY_MS = 30_000;

/** JWT bundles: trust domain name → its JWT-SVID keys (a JWK Set). */
export class JwtBundleSet {
  readonly #sets = new Map<string, ReturnType<typeof createLocalJWKSet>>();
  readonly #raw = new Map<string, { keys: JWK[] }>();

  /**
   * From `{ "spiffe://td" | "td": JWKS bytes or object }`. Keys without `kid`, or with a `use` other than
   * `jwt-svid`, are dropped (SPIFFE bundle rules); a trust domain whose set is left empty has no bundle.
   */
  static from(bundles: Record<string, Uint8Array | { keys?: unknown }>): JwtBundleSet {
    const set = new JwtBundleSet();
    for (const [key, value] of Object.entries(bundles)) {
      const td = key.startsWith('spiffe://') ? SpiffeId.parse(key).trustDomain : key;
      const doc = value instanceof Uint8Array ? JSON.parse(Buffer.from(value).toString('utf8')) as { keys?: unknown } : value;
      const keys = (Array.isArray(doc.keys) ? doc.keys : []).filter((k: unknown): k is JWK =>
        typeof k === 'object' && k !== null && typeof (k as JWK).kid === 'string' && (k as JWK).kid!.length > 0 && ((k as JWK).use === undefined || (k as JWK).use === 'jwt-svid') && !('d' in (k as object)));
      if (keys.length === 0) continue;
      set.#raw.set(td, { keys });
      // jose selects only keys whose `use` is absent or `sig`; these were already filtered to `jwt-svid`.
      set.#sets.set(td, createLocalJWKSet({ keys: keys.map(({ use: _use, ...k }) => k) }));
    }
    return set;
  }

  get trustDomains(): string[] {
    return [...this.#raw.keys()];
  }

  /** The JWK Set of `td` (for FetchJWTBundles), or undefined. */
  jwks(td: string): { keys: JWK[] } | undefined {
    return this.#raw.get(td);
  }

  keyResolver(td: string): ReturnType<typeof createLocalJWKSet> | undefined {
    return this.#sets.get(td);
  }
}

/** A validated JWT-SVID. */
export interface ValidatedJwtSvid {
  spiffeId: string;
  claims: JWTPayload;
}

const invalid = (message: string, reason: string) => flymeError('FLYME_TOKEN_INVALID', `JWT-SVID refused: ${message}`, { reason });

/**
 * Validates `token` for `audience` against `bundles`.
 * @throws FlyMeError FLYME_TOKEN_INVALID / FLYME_TOKEN_EXPIRED / FLYME_TOKEN_WRONG_AUDIENCE (`data.reason`).
 */
export async function validateJwtSvid(token: string, audience: string, bundles: JwtBundleSet, now = Date.now()): Promise<ValidatedJwtSvid> {
  if (token.length > MAX_TOKEN || !COMPACT.test(token)) throw invalid('not a compact JWS', 'format');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid('the header is not valid JSON', 'header');
  }
  if (!(JWT_SVID_ALGORITHMS as readonly string[]).includes(String(header.alg))) throw invalid(`algorithm ${String(header.alg).slice(0, 20)} is not allowed for JWT-SVIDs`, 'alg');
  if (typeof header.kid !== 'string' || header.kid.length === 0) throw invalid('the header has no kid', 'kid');
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') throw invalid(`typ ${String(header.typ).slice(0, 20)} is not JWT or JOSE`, 'typ');
  const extra = FORBIDDEN_HEADERS.find((h) => h in header);
  if (extra) throw invalid(`the header carries ${extra}`, 'header');
  let claims: JWTPayload;
  try {
    const [, payload] = token.split('.');
    claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as JWTPayload;
  } catch {
    throw invalid('the payload is not JSON', 'payload');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalid('the payload is not an object', 'payload');
  let sub: SpiffeId;
  try {
    if (typeof claims.sub !== 'string') throw new Error('not a string');
    sub = SpiffeId.parse(claims.sub);
  } catch {
    throw invalid('sub is missing or not a SPIFFE ID', 'sub');
  }
  const keys = bundles.keyResolver(sub.trustDomain);
  if (!keys) throw invalid(`no JWT bundle for trust domain ${sub.trustDomain}`, 'no-bundle');
  try {
    await compactVerify(token, keys, { algorithms: [...JWT_SVID_ALGORITHMS] });
  } catch {
    throw invalid(`signature does not verify with key ${header.kid.slice(0, 64)} of ${sub.trustDomain}`, 'signature');
  }
  if (typeof claims.exp !== 'number') throw invalid('exp is missing', 'exp');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf * 1000 > now + NBF_LEEWAY_MS)) throw invalid('not valid yet (nbf)', 'nbf');
  if (claims.exp * 1000 <= now) throw new FlyMeError('FLYME_TOKEN_EXPIRED', `JWT-SVID refused: expired at ${new Date(claims.exp * 1000).toISOString()}`, { data: { reason: 'expired' } });
  const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (aud.length === 0) throw invalid('aud is missing', 'aud');
  if (!aud.includes(audience)) throw new FlyMeError('FLYME_TOKEN_WRONG_AUDIENCE', `JWT-SVID refused: audience ${audience} is not among ${aud.join(', ').slice(0, 200)}`, { data: { reason: 'audience' } });
  return { spiffeId: sub.toString(), claims };
}
