/**
 * Publish batching: publishes issued in the same tick (before the process next reaches `process.nextTick`), in a
 * row to the same channel with the same token and `broadcast` flag, share one signed v2 envelope (envelope.ts) and
 * one Redis PUBLISH, up to MAX_BATCH messages and the size limit. A run of one is sent as a v1 envelope, as
 * without batching. Order is kept: runs are sealed and handed to Redis in the order their messages were published
 * (a message to another channel in between starts a new run). Each publish resolves or rejects with its batch.
 */
import { FlyMeError } from '../errors.js';
import { batchEnvelopeLength, batchItem, sealBatch, sealMessage, type Signer } from './envelope.js';

/** The most messages the publisher puts in one envelope (subscribers accept up to MAX_BATCH_MESSAGES). */
export const MAX_BATCH = 128;

interface Pending {
  payload: string;
  contentType: string | undefined;
  item: string;
  resolve(n: number): void;
  reject(e: unknown): void;
}

interface Run {
  channel: string;
  broadcast: boolean;
  jwt: string | undefined;
  pending: Pending[];
  itemBytes: number;
}

export interface BatcherOptions {
  /** The signer in force when a run is sealed. */
  signer(): Signer;
  /** Hand an envelope to Redis; resolves with the number of receivers. */
  send(channel: string, envelope: string, broadcast: boolean): Promise<number>;
  maxBytes: number;
}

export class PublishBatcher {
  #runs: Run[] = [];
  #scheduled = false;

  constructor(private readonly o: BatcherOptions) {}

  publish(channel: string, payload: string, o: { contentType?: string; jwt?: string; broadcast: boolean }): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const contentType = o.contentType || undefined; // '' means the default, as in a v1 envelope
      const item = batchItem(payload, contentType);
      const bytes = Buffer.byteLength(item);
      const p: Pending = { payload, contentType, item, resolve, reject };
      const last = this.#runs.at(-1);
      if (last && last.channel === channel && last.broadcast === o.broadcast && last.jwt === o.jwt && last.pending.length < MAX_BATCH
        && batchEnvelopeLength(this.o.signer(), channel, last.pending.length + 1, last.itemBytes + bytes, o.jwt) <= this.o.maxBytes) {
        last.pending.push(p);
        last.itemBytes += bytes;
      } else {
        this.#runs.push({ channel, broadcast: o.broadcast, jwt: o.jwt, pending: [p], itemBytes: bytes });
      }
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const runs = this.#runs;
    this.#runs = [];
    for (const run of runs) void this.#send(run);
  }

  /** Seal (synchronously, so runs reach Redis in order) and send one run. */
  #send(run: Run): Promise<void> {
    const { channel, broadcast, jwt, pending } = run;
    let envelope: string;
    try {
      const signer = this.o.signer();
      const common = { maxBytes: this.o.maxBytes, ...(jwt ? { jwt } : {}) };
      const one = pending.length === 1 ? pending[0]! : undefined;
      envelope = one ? sealMessage(signer, channel, one.payload, { ...common, ...(one.contentType ? { contentType: one.contentType } : {}) })
        : sealBatch(signer, channel, pending.map((p) => p.item), common);
    } catch (e) {
      if (pending.length > 1 && e instanceof FlyMeError && e.code === 'FLYME_FRAME_TOO_LARGE') {
        // Cannot happen with the exact length above; kept so a misestimate costs batching, not messages.
        return Promise.all(pending.map((p) => this.#send({ ...run, pending: [p], itemBytes: 0 }))).then(() => undefined);
      }
      for (const p of pending) p.reject(e);
      return Promise.resolve();
    }
    return this.o.send(channel, envelope, broadcast).then((n) => { for (const p of pending) p.resolve(n); }, (e: unknown) => { for (const p of pending) p.reject(e); });
  }
}
