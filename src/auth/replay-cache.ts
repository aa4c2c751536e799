/**
 * Bounded in-memory replay cache for token ids (jti).
 *
 * Model (see docs/tokens.md):
 * - one-time tokens, and tokens presented without a connection id, are accepted once;
 * - other tokens bind to the first connection id that presents them, for their lifetime;
 *   the same jti on another connection is FLYME_TOKEN_REPLAYED;
 * - an entry lives until the token's `exp` plus the clock skew, then it is forgotten
 *   (the token itself is refused as expired from then on, so forgetting is safe);
 * - the cache holds at most `maxEntries` entries. When it is full it first drops expired
 *   entries; if every entry is still live it refuses the new token with
 *   FLYME_TOKEN_CACHE_FULL. Live entries are never evicted: eviction would let a replay through.
 */
import { flymeError } from '../errors.js';

/** Default bound on remembered token ids. */
export const DEFAULT_REPLAY_CACHE_SIZE = 10_000;

export interface ReplayCacheOptions {
  /** Maximum number of remembered jtis (default 10 000). */
  maxEntries?: number;
}

/** One presentation of a token to be checked. */
export interface ReplayCheck {
  /** Token issuer; jti uniqueness is per issuer. */
  iss: string;
  jti: string;
  /** Instant (ms since epoch) after which the entry may be forgotten: exp + skew. */
  forgetAfterMs: number;
  /** Single use: any second presentation is a replay. */
  oneTime: boolean;
  /** Connection presenting the token; absent means "treat as single use". */
  connectionId?: string;
}

interface Entry {
  forgetAfterMs: number;
  /** undefined = consumed single-use token. */
  connectionId: string | undefined;
}

/**
 * Remembers token ids until they expire, to refuse replays. Bounded, and never evicts a live entry.
 *
 * @example
 * const cache = new ReplayCache({ maxEntries: 50_000 })
 * cache.check({ iss, jti, forgetAfterMs: (exp + 30) * 1000, oneTime: false, connectionId: 'c1' }, Date.now())
 */
export class ReplayCache {
  readonly maxEntries: number;
  /** Issuer → jti → entry (two levels: a presentation looks its entry up without building a joined key). */
  readonly #byIssuer = new Map<string, Map<string, Entry>>();
  #size = 0;

  constructor(options: ReplayCacheOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_REPLAY_CACHE_SIZE;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('ReplayCache maxEntries must be a positive integer');
    this.maxEntries = max;
  }

  /** Number of remembered token ids (expired ones may linger until the next sweep). */
  get size(): number {
    return this.#size;
  }

  /**
   * Accepts or refuses one presentation. Throws FLYME_TOKEN_REPLAYED or FLYME_TOKEN_CACHE_FULL.
   *
   * @example
   * cache.check({ iss: 'flyme', jti: 'abc', forgetAfterMs, oneTime: true }, Date.now())
   */
  check(presentation: ReplayCheck, nowMs: number): void {
    const jtis = this.#byIssuer.get(presentation.iss);
    const existing = jtis?.get(presentation.jti);
    if (existing !== undefined && existing.forgetAfterMs > nowMs) {
      const single = presentation.oneTime || presentation.connectionId === undefined || existing.connectionId === undefined;
      if (single) throw flymeError('FLYME_TOKEN_REPLAYED', 'the token is single-use and was already used', { jti: presentation.jti });
      if (existing.connectionId !== presentation.connectionId) {
        throw flymeError('FLYME_TOKEN_REPLAYED', 'the token is already bound to another connection', { jti: presentation.jti });
      }
      return; // same connection presenting its own token again
    }
    if (existing !== undefined) this.#delete(presentation.iss, jtis!, presentation.jti);
    if (this.#size >= this.maxEntries) this.sweep(nowMs);
    if (this.#size >= this.maxEntries) {
      throw flymeError('FLYME_TOKEN_CACHE_FULL', `the replay cache holds ${this.maxEntries} unexpired tokens; refusing new tokens until some expire`, {
        maxEntries: this.maxEntries,
      });
    }
    const connectionId = presentation.oneTime ? undefined : presentation.connectionId;
    let target = this.#byIssuer.get(presentation.iss);
    if (target === undefined) this.#byIssuer.set(presentation.iss, (target = new Map()));
    target.set(presentation.jti, { forgetAfterMs: presentation.forgetAfterMs, connectionId });
    this.#size++;
  }

  /**
   * Forgets every entry whose forget time has passed. Returns how many were dropped.
   *
   * @example
   * setInterval(() => cache.sweep(Date.now()), 60_000).unref()
   */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [iss, jtis] of this.#byIssuer) {
      for (const [jti, entry] of jtis) {
        if (entry.forgetAfterMs <= nowMs) {
          this.#delete(iss, jtis, jti);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Forgets everything (tests, key compromise drills). */
  clear(): void {
    this.#byIssuer.clear();
    this.#size = 0;
  }

  #delete(iss: string, jtis: Map<string, Entry>, jti: string): void {
    if (jtis.delete(jti)) this.#size--;
    if (jtis.size === 0) this.#byIssuer.delete(iss);
  }
}
