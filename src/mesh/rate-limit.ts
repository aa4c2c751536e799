/** A token bucket per source address, in a bounded table (the oldest source is forgotten when it is full). */
export interface RateLimitOptions {
  /** Tokens added per second (default 50). */
  perSecond?: number;
  /** Bucket size (default 100). */
  burst?: number;
  /** Most sources remembered (default 10000). */
  maxSources?: number;
}

export class SourceRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  /** Requests refused so far. */
  refused = 0;

  constructor(o: RateLimitOptions = {}) {
    this.#rate = o.perSecond ?? 50;
    this.#burst = o.burst ?? 100;
    this.#max = o.maxSources ?? 10_000;
  }

  /** Takes one token for `source`; false when its bucket is empty. */
  take(source: string, now = Date.now()): boolean {
    let b = this.#buckets.get(source);
    if (b) {
      this.#buckets.delete(source); // re-insert: the Map's order is least recently seen first
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
    } else {
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.#burst, at: now };
    }
    this.#buckets.set(source, b);
    if (b.tokens < 1) { this.refused++; return false; }
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
