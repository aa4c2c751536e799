/**
 * Periodic sweeps without a timer per item, for the TLS server's per-connection bookkeeping.
 *
 * {@link SweepInterval}: one unref'd interval (it never keeps a process alive) that runs a sweep while there is
 * something to sweep. It stops at a tick that finds nothing and nothing added since the previous tick, so a steady
 * stream of short connections keeps one interval instead of starting and stopping one per connection, and an
 * idle process has none. Used by {@link DeadlineSweep} and by LiveConnections (live.ts).
 *
 * {@link DeadlineSweep}: deadlines kept in a set on one such interval. A timer per TLS handshake (armed at accept,
 * cleared a few milliseconds later) cost the server ~140 000 instructions per full handshake, ~1 % of it
 * (callgrind): Node builds and tears down a timer list for the duration each time when handshakes come one at a
 * time. A deadline fires between its time and one period later.
 */
export class SweepInterval {
  #timer: NodeJS.Timeout | undefined;
  #added = false;

  /** `sweep` runs every `periodMs` while `empty()` is false or something was added since the previous run. */
  constructor(private readonly periodMs: number, private readonly sweep: () => void, private readonly empty: () => boolean) {}

  /** Something was added: runs the interval (again) if it is not running. */
  added(): void {
    this.#added = true;
    this.#timer ??= setInterval(() => this.#tick(), this.periodMs).unref();
  }

  /** Whether the interval is running (it is unref'd, so Node's own resource lists do not show it). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.empty() && !this.#added) {
      this.stop();
      return;
    }
    this.#added = false;
    this.sweep();
  }
}

export interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

export class DeadlineSweep {
  readonly #pending = new Set<Deadline>();
  readonly #interval: SweepInterval;

  constructor(periodMs: number) {
    this.#interval = new SweepInterval(periodMs, () => this.#expire(), () => this.#pending.size === 0);
  }

  /** `expire` runs once, `ms` to `ms + periodMs` from now, unless the deadline is cancelled first. */
  add(ms: number, expire: () => void): Deadline {
    const d: Deadline = { at: Date.now() + ms, expire };
    this.#pending.add(d);
    this.#interval.added();
    return d;
  }

  cancel(d: Deadline): void {
    this.#pending.delete(d);
  }

  /** Deadlines pending. */
  get size(): number {
    return this.#pending.size;
  }

  /** Whether its interval is running. */
  get running(): boolean {
    return this.#interval.running;
  }

  #expire(): void {
    const now = Date.now();
    for (const d of this.#pending) {
      if (now < d.at) continue;
      this.#pending.delete(d);
      try {
        d.expire();
      } catch {
        // an owner's expiry runs from the interval: a throw must not end the process or stop the others
      }
    }
  }
}
