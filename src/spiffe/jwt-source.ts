/**
 * JwtSource: JWT-SVIDs to present and JWT bundles to validate with, the JWT half of the identity-source seam
 * (go-spiffe's `jwtsvid.Source` / `jwtbundle.Source`). `workloadJwtSource` follows the Workload API's
 * FetchJWTBundles stream and fetches JWT-SVIDs on demand (reused until half their life); `StaticJwtSource`
 * signs its own for tests.
 */
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import type { CryptoKey } from '../identity/keys.js';
import { flymeError, type FlyMeError } from '../errors.js';
import { Reloadable } from '../files/reloadable.js';
import { WorkloadApiClient } from './client.js';
import { followStream } from './follow.js';
import { JwtBundleSet, validateJwtSvid, type ValidatedJwtSvid } from './jwt-svid.js';

export interface JwtSvid {
  spiffeId: string;
  token: string;
  /** Unix seconds. */
  expiresAt: number;
}

export interface JwtSource {
  /** A JWT-SVID for `audience` (the default identity, or `spiffeId`). */
  fetchJwtSvid(o: { audience: readonly string[]; spiffeId?: string }): Promise<JwtSvid>;
  /** The JWT bundles in force. */
  jwtBundles(): JwtBundleSet;
  /** Validates a peer's JWT-SVID for our `audience` against the bundles in force. */
  validate(token: string, audience: string): Promise<ValidatedJwtSvid>;
  onUpdate(fn: (b: JwtBundleSet) => void): () => void;
  close(): void;
}

abstract class BaseJwtSource implements JwtSource {
  readonly #cache = new Map<string, JwtSvid>();
  constructor(protected readonly bundles: Reloadable<JwtBundleSet>) {}

  protected abstract mint(audience: readonly string[], spiffeId?: string): Promise<JwtSvid>;

  async fetchJwtSvid(o: { audience: readonly string[]; spiffeId?: string }): Promise<JwtSvid> {
    if (o.audience.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'a JWT-SVID needs an audience');
    const key = JSON.stringify([o.spiffeId ?? '', [...new Set(o.audience)].sort()]);
    const now = Date.now() / 1000;
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt - now > (hit.expiresAt - (decodeJwt(hit.token).iat ?? now)) / 2) return hit;
    const svid = await this.mint(o.audience, o.spiffeId);
    if (this.#cache.size > 256) this.#cache.clear();
    this.#cache.set(key, svid);
    return svid;
  }

  jwtBundles(): JwtBundleSet {
    return this.bundles.current;
  }

  validate(token: string, audience: string): Promise<ValidatedJwtSvid> {
    return validateJwtSvid(token, audience, this.bundles.current);
  }

  onUpdate(fn: (b: JwtBundleSet) => void): () => void {
    return this.bundles.onUpdate((b) => fn(b));
  }

  close(): void {
    this.bundles.close();
  }
}

class WorkloadJwtSource extends BaseJwtSource {
  constructor(bundles: Reloadable<JwtBundleSet>, private readonly client: WorkloadApiClient, private readonly stop: () => void) {
    super(bundles);
  }

  protected async mint(audience: readonly string[], spiffeId?: string): Promise<JwtSvid> {
    const [s] = await this.client.fetchJwtSvids(audience, spiffeId);
    if (!s) throw flymeError('FLYME_PERMISSION_DENIED', 'the Workload API returned no JWT-SVID');
    return { spiffeId: s.spiffeId, token: s.token, expiresAt: Number(decodeJwt(s.token).exp ?? 0) };
  }

  override close(): void {
    this.stop();
    this.client.close();
    super.close();
  }
}

/**
 * A JwtSource over the Workload API (address default SPIFFE_ENDPOINT_SOCKET).
 * @example const jwt = await workloadJwtSource(); const { token } = await jwt.fetchJwtSvid({ audience: ['billing'] })
 */
export async function workloadJwtSource(o: { address?: string; timeoutMs?: number; onStreamError?(e: FlyMeError): void } = {}): Promise<JwtSource> {
  const client = new WorkloadApiClient(o.address);
  let first: JwtBundleSet;
  try {
    first = await client.fetchJwtBundles(o.timeoutMs ?? 10_000);
  } catch (err) {
    client.close();
    throw err;
  }
  const holder = Reloadable.of(first);
  const stop = followStream<{ bundles: Record<string, Buffer> }, FlyMeError>((m, end) => client.watchJwtBundles(m, end), (r) => {
    void holder.update(() => JwtBundleSet.from(r.bundles), 'workload api').catch((e: FlyMeError) => o.onStreamError?.(e));
  }, (err) => { if (err) o.onStreamError?.(err); });
  return new WorkloadJwtSource(holder, client, stop);
}

/** A JwtSource that signs its own JWT-SVIDs with an ES256 key (tests, embedded use). */
export class StaticJwtSource extends BaseJwtSource {
  private constructor(bundles: Reloadable<JwtBundleSet>, private readonly o: { spiffeId: string; key: CryptoKey; kid: string; ttlSeconds: number }) {
    super(bundles);
  }

  /** `privateJwk` and `publicJwk` are an ES256 pair; the bundle of the SPIFFE ID's trust domain holds the public key. */
  static async create(o: { spiffeId: string; privateJwk: JWK; publicJwk: JWK; kid: string; ttlSeconds?: number }): Promise<StaticJwtSource> {
    const td = new URL(o.spiffeId).host;
    const bundles = Reloadable.of(JwtBundleSet.from({ [td]: { keys: [{ ...o.publicJwk, kid: o.kid, use: 'jwt-svid' }] } }));
    return new StaticJwtSource(bundles, { spiffeId: o.spiffeId, key: (await importJWK(o.privateJwk, 'ES256')) as CryptoKey, kid: o.kid, ttlSeconds: o.ttlSeconds ?? 300 });
  }

  protected async mint(audience: readonly string[]): Promise<JwtSvid> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ aud: audience.length === 1 ? audience[0]! : [...audience] })
      .setProtectedHeader({ alg: 'ES256', kid: this.o.kid, typ: 'JWT' }).setSubject(this.o.spiffeId)
      .setIssuedAt(now).setExpirationTime(now + this.o.ttlSeconds).sign(this.o.key);
    return { spiffeId: this.o.spiffeId, token, expiresAt: now + this.o.ttlSeconds };
  }
}
