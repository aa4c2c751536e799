/** An async iterator of verified messages with a bounded queue (the oldest is dropped when full). */
import type { VerifiedMessage } from './envelope.js';

export class Subscription implements AsyncIterable<VerifiedMessage> {
  #queue: VerifiedMessage[] = [];
  #waiters: Array<(r: IteratorResult<VerifiedMessage>) => void> = [];
  #ended = false;
  dropped = 0;

  constructor(private readonly max: number, private readonly onClose: () => Promise<void>) {}

  push(m: VerifiedMessage): void {
    if (this.#ended) return;
    const w = this.#waiters.shift();
    if (w) return w({ value: m, done: false });
    if (this.#queue.length >= this.max) {
      this.#queue.shift();
      this.dropped++;
    }
    this.#queue.push(m);
  }

  /** Next message, or undefined after `timeoutMs` (for polling loops and tests). */
  async next(timeoutMs?: number): Promise<VerifiedMessage | undefined> {
    const q = this.#queue.shift();
    if (q) return q;
    if (this.#ended) return undefined;
    return new Promise((resolve) => {
      const t = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, timeoutMs);
      const waiter = (r: IteratorResult<VerifiedMessage>) => { clearTimeout(t); resolve(r.done ? undefined : r.value); };
      this.#waiters.push(waiter);
    });
  }

  end(): void {
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  async close(): Promise<void> {
    this.end();
    await this.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<VerifiedMessage> {
    return {
      next: async () => {
        const m = await this.next();
        return m ? { value: m, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
