/**
 * Deadlines kept by one interval instead of a timer each. A timer per TLS handshake (armed at accept, cleared a
 * few milliseconds later) cost the server ~140 000 instructions per full handshake, ~1 % of it (callgrind): Node
 * builds and tears down a timer list for the duration each time when handshakes come one at a time. Here a
 * deadline is an entry in a set, checked every `periodMs`, so it fires between its time and one period later.
 * The interval (unref'd: it never keeps a process alive) stops at a tick that finds nothing pending and nothing
 * added since the previous tick, so a steady stream of short handshakes keeps one interval instead of starting
 * and stopping one per connection, and an idle process has none.
 */
export interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

export class DeadlineSweep {
  readonly #pending = new Set<Deadline>();
  #timer: NodeJS.Timeout | undefined;
  #added = false;

  constructor(private readonly periodMs: number) {}

  /** `expire` runs once, `ms` to `ms + periodMs` from now, unless the deadline is cancelled first. */
  add(ms: number, expire: () => void): Deadline {
    const d: Deadline = { at: Date.now() + ms, expire };
    this.#pending.add(d);
    this.#added = true;
    this.#timer ??= setInterval(() => this.#tick(), this.periodMs).unref();
    return d;
  }

  cancel(d: Deadline): void {
    this.#pending.delete(d);
  }

  /** Deadlines pending. */
  get size(): number {
    return this.#pending.size;
  }

  /** Whether the interval is running (it is unref'd, so Node's own resource lists do not show it). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  #tick(): void {
    if (this.#pending.size === 0 && !this.#added) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.#added = false;
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
