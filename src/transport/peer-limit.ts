/**
 * At most N open connections per peer — per remote address on TCP, per uid on Unix sockets — so that one
 * peer (a slowloris, a flood of half-open requests) cannot take every slot of a server's global limit.
 */
import type { Socket } from 'node:net';
import { flymeError, type FlyMeError } from '../errors.js';

export class PeerLimit {
  readonly #open = new Map<string, number>();

  /** Connections allowed per peer; a change applies to the next admission (open ones are never closed for it). */
  constructor(public max: number) {}

  /** Counts `raw` for `peer` until it closes, or returns the refusal when the peer is at its limit. */
  admit(raw: Socket, peer: string): FlyMeError | undefined {
    const n = this.#open.get(peer) ?? 0;
    if (n >= this.max) return flymeError('FLYME_TOO_MANY_CONNECTIONS', `too many connections from ${peer} (at most ${this.max} per peer)`, { peer });
    this.#open.set(peer, n + 1);
    raw.once('close', () => {
      const left = (this.#open.get(peer) ?? 1) - 1;
      if (left > 0) this.#open.set(peer, left);
      else this.#open.delete(peer);
    });
    return undefined;
  }
}
