/**
 * The agent core: what the CA says (entries whose parent this agent is, roots, revocation lists, JWT keys),
 * the SVIDs minted for those entries, and which entries an attested caller matches. Transport-free; the
 * Workload API (workload-api.ts) serves it.
 */
import { EventEmitter } from 'node:events';
import type { Entry } from '../../ca/entries.js';
import { selectorKind, selectorString } from '../../ca/selectors.js';
import { TrustBundle } from '../../identity/trust-bundle.js';
import { parseCertificates } from '../../identity/validate.js';
import type { Attestation } from '../attest.js';
import { JwtBundleSet } from '../jwt-svid.js';
import { derToPem, type CaLink, type CaState } from './ca-link.js';
import { SvidCache } from './svids.js';

export class Agent extends EventEmitter {
  readonly svids: SvidCache;
  #state: CaState | undefined;
  #bundle: TrustBundle | undefined;
  #jwt: JwtBundleSet = JwtBundleSet.from({});
  #version = 0;
  readonly #jwtCache = new Map<string, { token: string; expiresAt: number; refreshAt: number }>();
  readonly #stop: () => void;

  constructor(readonly link: CaLink, private readonly warn: (m: string) => void = () => undefined) {
    super();
    this.setMaxListeners(0);
    this.svids = new SvidCache(link, () => this.#changed(), warn);
    this.#stop = link.onState((s) => this.#apply(s));
  }

  /** Bumped on every change a Workload API stream may need to push. */
  get version(): number {
    return this.#version;
  }

  get trustDomain(): string | undefined {
    return this.#state?.trustDomain;
  }

  /** Roots of the trust domain with the revocation lists. */
  get bundle(): TrustBundle | undefined {
    return this.#bundle;
  }

  get roots(): Uint8Array[] {
    return this.#state?.roots ?? [];
  }

  get crls(): Uint8Array[] {
    return this.#state?.crls ?? [];
  }

  get jwtBundles(): JwtBundleSet {
    return this.#jwt;
  }

  /** Whether any entry asks for the executable's hash (so attestation hashes only when needed). */
  get needsSha256(): boolean {
    return (this.#state?.entries ?? []).some((e) => e.selectors.some((s) => selectorKind(s) === 'sha256'));
  }

  /** Entries whose every selector the caller has, in creation order. */
  entriesFor(a: Attestation): Entry[] {
    return (this.#state?.entries ?? []).filter((e) => e.selectors.every((s) => a.selectors.has(selectorString(s))))
      .sort((x, y) => x.createdAt - y.createdAt || x.id.localeCompare(y.id));
  }

  /** A JWT-SVID for `entry` and `audience`, reused until half its life; `beforeMint` may refuse a new one. */
  async jwtSvid(entry: Entry, audience: readonly string[], beforeMint: () => void = () => undefined): Promise<string> {
    const key = JSON.stringify([entry.id, [...new Set(audience)].sort()]);
    const now = Date.now() / 1000;
    const hit = this.#jwtCache.get(key);
    if (hit && hit.refreshAt > now) return hit.token;
    beforeMint();
    const t = await this.link.mintJwt(entry.id, audience);
    if (this.#jwtCache.size > 1024) this.#jwtCache.clear();
    this.#jwtCache.set(key, { ...t, refreshAt: now + (t.expiresAt - now) / 2 });
    return t.token;
  }

  async close(): Promise<void> {
    this.#stop();
    this.svids.close();
    await this.link.close();
  }

  #apply(s: CaState): void {
    try {
      const bundle = TrustBundle.fromCertificates(parseCertificates(derToPem(s.roots)), { crls: s.crls });
      this.#jwt = JwtBundleSet.from({ [s.trustDomain]: s.jwtBundle });
      this.#bundle = bundle;
    } catch (err) {
      this.warn(`CA state refused (bundle): ${(err as Error).message}`);
      return;
    }
    const gone = new Set((this.#state?.entries ?? []).map((e) => e.id));
    for (const e of s.entries) gone.delete(e.id);
    for (const k of this.#jwtCache.keys()) if (gone.has((JSON.parse(k) as [string])[0])) this.#jwtCache.delete(k);
    this.#state = s;
    this.svids.setEntries(s.entries);
    this.#changed();
  }

  #changed(): void {
    this.#version++;
    this.emit('change');
  }
}
