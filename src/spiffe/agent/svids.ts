/**
 * The agent's X.509-SVIDs, one per registration entry: a fresh key per SVID (generated here; the private key
 * goes only to workloads attested for the entry), minted through the CA link, re-minted at half its life
 * (SVIDs rotate), dropped when the entry disappears. Every change is announced so open Workload API streams
 * can push the new set.
 */
import type { Entry } from '../../ca/entries.js';
import { exportPrivateKeyPem } from '../../identity/keys.js';
import { x509 } from '../../identity/x509.js';
import { keyAndCsr, type CaLink } from './ca-link.js';

export interface CachedSvid {
  entry: Entry;
  /** DER, leaf first. */
  chain: Uint8Array[];
  /** DER PKCS#8. */
  key: Uint8Array;
  expiresAt: number;
  serial: string;
}

interface Slot {
  entry: Entry;
  svid?: CachedSvid;
  timer?: NodeJS.Timeout;
  pending?: Promise<void>;
  failures: number;
}

export class SvidCache {
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  constructor(private readonly link: CaLink, private readonly onChange: () => void, private readonly warn: (m: string) => void = () => undefined) {}

  /** Makes the cache hold exactly these entries (new ones are minted, gone ones dropped). */
  setEntries(entries: readonly Entry[]): void {
    const ids = new Set(entries.map((e) => e.id));
    let changed = false;
    for (const [id, slot] of this.#slots) {
      if (!ids.has(id)) {
        clearTimeout(slot.timer);
        this.#slots.delete(id);
        changed = true;
      }
    }
    for (const e of entries) {
      if (this.#slots.has(e.id)) continue;
      const slot: Slot = { entry: e, failures: 0 };
      this.#slots.set(e.id, slot);
      void this.#mint(slot);
    }
    if (changed) this.onChange();
  }

  get(entryId: string): CachedSvid | undefined {
    return this.#slots.get(entryId)?.svid;
  }

  /** Waits (at most `timeoutMs`) until every one of `entryIds` has an SVID or failed once. */
  async ready(entryIds: readonly string[], timeoutMs = 10_000): Promise<void> {
    const pending = entryIds.map((id) => this.#slots.get(id)).filter((s) => s && !s.svid && s.pending).map((s) => s!.pending!);
    if (pending.length === 0) return;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#slots.values()) clearTimeout(s.timer);
    this.#slots.clear();
  }

  #mint(slot: Slot): Promise<void> {
    const run = (async () => {
      try {
        const { keys, csr } = await keyAndCsr();
        const minted = await this.link.mintX509(slot.entry.id, csr);
        if (this.#closed || this.#slots.get(slot.entry.id) !== slot) return;
        const keyPem = await exportPrivateKeyPem(keys.privateKey);
        const key = new Uint8Array(Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
        const serial = new x509.X509Certificate(Uint8Array.from(minted.chain[0]!)).serialNumber.toLowerCase();
        slot.svid = { entry: slot.entry, chain: minted.chain, key, expiresAt: minted.expiresAt, serial };
        slot.failures = 0;
        // Rotate at half the remaining life.
        const half = Math.max(1000, (minted.expiresAt * 1000 - Date.now()) / 2);
        slot.timer = setTimeout(() => { void this.#mint(slot); }, half);
        slot.timer.unref();
        this.onChange();
      } catch (err) {
        if (this.#closed || this.#slots.get(slot.entry.id) !== slot) return;
        slot.failures++;
        const wait = Math.min(30_000, 1000 * 2 ** Math.min(slot.failures, 5));
        this.warn(`cannot mint an SVID for entry ${slot.entry.id} (${slot.entry.spiffeId}): ${(err as Error).message}; retrying in ${wait} ms`);
        slot.timer = setTimeout(() => { void this.#mint(slot); }, wait);
        slot.timer.unref();
      } finally {
        slot.pending = undefined;
      }
    })();
    slot.pending = run;
    return run;
  }
}
