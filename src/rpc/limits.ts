/** Server limits: every place a peer can make the server wait or allocate is bounded. */
import { DEFAULT_MAX_FRAME_BYTES } from '../wire/framing.js';

export interface ServerLimits {
  maxFrameBytes: number;
  maxConnections: number;
  /**
   * Open connections per peer (per uid on Unix sockets, per address on TCP: loopback is one peer, an IPv6 /64
   * one), across all listeners, handshakes included: one local user cannot take every slot of `maxConnections`
   * from the others.
   */
  maxConnectionsPerPeer: number;
  maxInFlight: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** Pause reading from a peer once this many response bytes are queued for it. */
  maxWriteBufferBytes: number;
  /** Deadline for in-flight requests at shutdown. */
  shutdownGraceMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxConnections: 100,
  maxConnectionsPerPeer: 32,
  maxInFlight: 64,
  idleTimeoutMs: 60_000,
  requestTimeoutMs: 30_000,
  maxWriteBufferBytes: 4 * 1024 * 1024,
  shutdownGraceMs: 5_000,
});

export function resolveLimits(partial: Partial<ServerLimits> = {}): ServerLimits {
  const l = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`limit ${k} must be a positive number`);
  }
  return l;
}
