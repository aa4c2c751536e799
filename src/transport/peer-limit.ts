/**
 * At most N open connections per peer — per remote address on TCP, per uid on Unix sockets — so that one
 * peer (a slowloris, a flood of half-open requests) cannot take every slot of a server's global limit.
 */
import type { Socket } from 'node:net';
import { flymeError, type FlyMeError } from '../errors.js';

/**
 * One peer's open connections. Its `release` is shared by all of them (a 'close' listener per socket, no
 * closure or once-wrapper per socket); the entry is dropped when the last one closes, so a later connection
 * of that peer starts a new entry and no socket can hold the release of another entry.
 */
interface PeerEntry {
  open: number;
  readonly release: () => void;
}

export class PeerLimit {
  readonly #open = new Map<string, PeerEntry>();

  /** Connections allowed per peer; a change applies to the next admission (open ones are never closed for it). */
  constructor(public max: number) {}

  /** Counts `raw` for `peer` until it closes, or returns the refusal when the peer is at its limit. */
  admit(raw: Socket, peer: string): FlyMeError | undefined {
    let entry = this.#open.get(peer);
    if ((entry?.open ?? 0) >= this.max) return flymeError('FLYME_TOO_MANY_CONNECTIONS', `too many connections from ${peer} (at most ${this.max} per peer)`, { peer });
    if (!entry) {
      const e: PeerEntry = {
        open: 0,
        release: () => {
          if (--e.open <= 0 && this.#open.get(peer) === e) this.#open.delete(peer);
        },
      };
      this.#open.set(peer, (entry = e));
    }
    entry.open++;
    // 'close' is emitted once per socket: a plain listener is enough (once() would add a wrapper per socket).
    raw.on('close', entry.release);
    return undefined;
  }

  /** Open connections counted for `peer` (for tests and status). */
  openOf(peer: string): number {
    return this.#open.get(peer)?.open ?? 0;
  }
}
