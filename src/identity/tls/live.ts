/**
 * Live mTLS connections and the peers they were admitted with. Rotation and revocation reach them: when the
 * peer's chain leaves its validity window the connection is closed by the next sweep (every
 * `sweepMs`, default 1 s), and when the trust bundle changes (a root removed, a revocation list added) every
 * connection is verified again against the new bundle and its authorizer, and closed when it fails.
 */
import type { Duplex } from 'node:stream';
import type { FlyMeError } from '../../errors.js';
import type { PeerCertificateInfo } from '../../transport/listener.js';
import type { Authorizer } from '../authorizer.js';
import type { TrustBundle } from '../trust-bundle.js';
import { SweepInterval } from './deadlines.js';
import { refusal } from './refusal.js';
import { verifyDers } from './verify-peer.js';

/** A connection closed because its peer no longer verifies. */
export interface InvalidatedPeer {
  socket: Duplex & { destroyed: boolean; destroy(): void };
  cert: PeerCertificateInfo;
  error: FlyMeError;
}

interface Entry {
  socket: InvalidatedPeer['socket'];
  /** The peer's presented chain, or a function reading it from the live socket when a recheck needs it. */
  ders: Uint8Array[] | (() => Uint8Array[]);
  cert: PeerCertificateInfo;
  notAfter: number;
}

export class LiveConnections {
  readonly #entries = new Set<Entry>();
  readonly #sweeper: SweepInterval;

  /**
   * @param onInvalidated closes the connection (default: destroy the socket) and reports it.
   */
  constructor(
    private readonly authorizer: () => Authorizer,
    private readonly onInvalidated: (p: InvalidatedPeer) => void = (p) => p.socket.destroy(),
    sweepMs = 1000,
  ) {
    this.#sweeper = new SweepInterval(sweepMs, () => this.sweep(), () => this.#entries.size === 0);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Tracks a verified connection until its socket closes. */
  add(socket: Entry['socket'], ders: Entry['ders'], cert: PeerCertificateInfo, notAfter: number): void {
    const e: Entry = { socket, ders, cert, notAfter };
    this.#entries.add(e);
    socket.once('close', () => { this.#entries.delete(e); });
    // The sweeper stops at a run that finds no connection and none added since (deadlines.ts), not at each last
    // close: clients that connect and hang up in turn would otherwise start and stop a timer per connection.
    this.#sweeper.added();
  }

  /** Closes connections whose peer chain has expired (run by the sweeper; callable directly). */
  sweep(now = Date.now()): void {
    for (const e of this.#entries) {
      if (now > e.notAfter) {
        this.#invalidate(e, refusal('expired', `peer certificate of ${e.cert.spiffeId} expired at ${new Date(e.notAfter).toISOString()}; closing the connection`, undefined, { spiffeId: e.cert.spiffeId }));
      }
    }
  }

  /** Verifies every live connection against `bundle` (after an update) and closes those that fail. */
  async recheck(bundle: TrustBundle): Promise<number> {
    let closed = 0;
    const authorizer = this.authorizer();
    for (const e of [...this.#entries]) {
      if (e.socket.destroyed) continue;
      try {
        const v = await verifyDers(typeof e.ders === 'function' ? e.ders() : e.ders, bundle, authorizer, 'client');
        e.notAfter = v.verdict.notAfter;
      } catch (err) {
        closed++;
        this.#invalidate(e, err as FlyMeError);
      }
    }
    return closed;
  }

  /** Stops the sweeper (connections are not touched). */
  close(): void {
    this.#sweeper.stop();
  }

  #invalidate(e: Entry, error: FlyMeError): void {
    if (!this.#entries.delete(e)) return;
    if (e.socket.destroyed) return;
    try {
      this.onInvalidated({ socket: e.socket, cert: e.cert, error });
    } catch {
      // The owner's hook runs from the sweep timer or a bundle update: a throw must not end the process, and
      // the connection still goes.
      e.socket.destroy();
    }
  }
}
