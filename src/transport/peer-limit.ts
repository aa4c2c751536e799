/**
 * At most N open connections per peer — per remote address on TCP (see addressPeer), per uid on Unix sockets —
 * so that one peer (a slowloris, a flood of half-open requests) cannot take every slot of a server's global limit.
 */
import { isIPv6, type Socket } from 'node:net';
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

/**
 * The peer a TCP remote address counts as: every loopback address (127.0.0.0/8, ::1, v4-mapped) is one peer,
 * since any local user may bind any of them (one user cycling 127.0.0.2, .3 … took every slot); an IPv6
 * address counts by its /64, the block one host is given; any other IPv4 address by itself.
 */
export function addressPeer(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  const v4 = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (v4.startsWith('127.') || v4 === '::1' || v4 === '0:0:0:0:0:0:0:1') return 'loopback';
  if (!isIPv6(v4)) return v4;
  const [head = '', tail] = v4.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
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
