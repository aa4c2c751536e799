/**
 * Listeners by URL. A listener accepts sockets, reads kernel peer credentials at accept time on
 * Unix sockets (fail closed), optionally upgrades to mutual TLS, and hands the connection up.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FlyMeError, flymeError } from '../errors.js';
import { encodeError } from '../wire/jsonrpc.js';
import { checkListenAddress, parseAddress, unixSocketPath, type Address } from './address.js';
import { readPeerCredentials, requirePeerCredentials, type PeerCredentials } from './peercred.js';
import { addressPeer, PeerLimit } from './peer-limit.js';
import { applySocketPermissions, prepareSocketPath, removeSocketFile, DEFAULT_SOCKET_MODE, DEFAULT_DIR_MODE } from './socket-file.js';

/** What the TLS layer reports about a verified peer certificate. */
export interface PeerCertificateInfo {
  spiffeId: string;
  serial: string;
  notAfter: string;
  thumbprint: string;
  /** DER of the leaf, for token binding. */
  der: Uint8Array;
}

export interface AcceptedConnection {
  socket: Duplex & Pick<Socket, 'setTimeout' | 'destroy' | 'end' | 'pause' | 'resume' | 'writableLength' | 'destroyed'>;
  address: Address;
  peer?: PeerCredentials;
  cert?: PeerCertificateInfo;
  /** True when the TLS session was resumed from a ticket. */
  resumed?: boolean;
  /**
   * Set only by an upgrader that defers refusals (gRPC answers each call with a clear status): the client
   * certificate was refused for this reason and the connection has no certificate identity.
   */
  refusal?: FlyMeError;
}

/** The seam for mutual TLS: turns an accepted raw socket into a verified TLS connection. */
export interface SecureUpgrader {
  upgrade(raw: Socket): Promise<{ socket: AcceptedConnection['socket']; cert?: PeerCertificateInfo; resumed: boolean; refusal?: FlyMeError }>;
}

export interface ListenOptions {
  /** Mode of the socket file (default 0o660). */
  socketMode?: number;
  /** Group owner of the socket file. */
  socketGroup?: number;
  /** Mode of a parent directory created for the socket (default 0o750). */
  dirMode?: number;
  /** Required for unix+tls:// and tls:// addresses. */
  secure?: SecureUpgrader;
  /**
   * At most this many open connections (handshakes included) per peer: per remote address on TCP, per uid on
   * Unix sockets (default: no cap).
   */
  maxConnectionsPerPeer?: number;
  /** A per-peer limit shared with other listeners (a server's), instead of `maxConnectionsPerPeer`. */
  peerLimit?: PeerLimit;
  /** Called before any read: return a FlyMeError to refuse the socket (e.g. too many connections). */
  admit?(raw: Socket): FlyMeError | undefined;
  onConnection(conn: AcceptedConnection): void;
  /** A connection refused before it reached onConnection (no creds, failed handshake). */
  onRefused?(reason: FlyMeError, raw: Socket, peer?: PeerCredentials): void;
  /** Warnings such as "abstract sockets have no file permissions". */
  warn?(message: string): void;
}

export interface Listener {
  readonly address: Address;
  /** Stop accepting, remove the socket file. Existing connections are not touched. */
  close(): Promise<void>;
}

/**
 * Keeps a peer's reset (even while a refusal is written) from being an unhandled 'error' that ends the process.
 * One function for every socket (no closure per connection); a connection's owner adds its own handler and may
 * then remove this one (see rpc/connection.ts).
 */
export function ignoreSocketError(): void {}

function refuse(raw: Socket, err: FlyMeError): void {
  if (raw.destroyed) return;
  raw.resume(); // read (and discard) so the peer's close is noticed at once
  raw.end(encodeError(null, err));
  // A hard deadline, not an idle timeout: a peer trickling bytes must not keep a refused socket open.
  setTimeout(() => raw.destroy(), 2000).unref();
}

/** Throws FLYME_NATIVE_UNAVAILABLE (naming `url`) when Unix-socket peers cannot be identified here. */
function checkPeerCredentials(url: string): void {
  try {
    requirePeerCredentials();
  } catch (err) {
    throw flymeError('FLYME_NATIVE_UNAVAILABLE', `cannot listen on ${url}: ${(err as Error).message}`, { address: url }, err);
  }
}

export async function listen(url: string, options: ListenOptions): Promise<Listener> {
  const address = parseAddress(url);
  if (address.tls && !options.secure) {
    throw flymeError('FLYME_INVALID_CONFIG', `${url} needs TLS credentials (certificate, key, CA bundle)`);
  }
  checkListenAddress(address);
  const isUnix = address.kind !== 'tcp';
  const perPeer = options.peerLimit ?? (options.maxConnectionsPerPeer === undefined ? undefined : new PeerLimit(options.maxConnectionsPerPeer));
  // Every connection on a Unix socket is identified by the native addon: without it each one would be refused
  // (and on unix+tls:// in plain text, which a TLS client reads as "wrong version number"). Refuse to start instead.
  if (isUnix) checkPeerCredentials(url);
  if (address.kind === 'abstract') {
    options.warn?.(`abstract socket ${url} has no file permissions: any local process in this network namespace can connect; access relies on peer credentials and policy alone`);
  }
  if (address.kind === 'unix') await prepareSocketPath(address.path, options.dirMode ?? DEFAULT_DIR_MODE);

  // The owner's hooks run inside socket and promise callbacks: one that throws must not become an uncaught
  // exception or an unhandled rejection (either ends the process). The connection is dropped instead.
  const refused = (e: FlyMeError, raw: Socket, peer?: PeerCredentials): void => {
    try {
      options.onRefused?.(e, raw, peer);
    } catch {
      /* reporting a refusal must not take the server down */
    }
  };
  const handOver = (conn: AcceptedConnection, raw: Socket): void => {
    try {
      options.onConnection(conn);
    } catch (err) {
      conn.socket.destroy();
      raw.destroy();
      refused(flymeError('FLYME_INTERNAL', `the connection handler failed: ${(err as Error)?.message ?? String(err)}`), raw, conn.peer);
    }
  };

  const server: Server = createServer({ pauseOnConnect: false, noDelay: true } as never, (raw) => {
    // A peer may reset at any moment (even while we write a refusal): never let that be an unhandled error.
    // Owners add their own handlers; this one only keeps an error from crashing the process.
    raw.on('error', ignoreSocketError);
    let peer: PeerCredentials | undefined;
    if (isUnix) {
      try {
        peer = readPeerCredentials(raw);
      } catch (err) {
        const e = err instanceof FlyMeError ? err : flymeError('FLYME_UNAUTHENTICATED', 'cannot read peer credentials');
        refused(e, raw);
        refuse(raw, e);
        return;
      }
    }
    const denied = perPeer?.admit(raw, peer ? `uid ${peer.uid}` : addressPeer(raw.remoteAddress)) ?? options.admit?.(raw);
    if (denied) {
      refused(denied, raw, peer);
      refuse(raw, denied);
      return;
    }
    if (!address.tls) {
      handOver({ socket: raw, address, ...(peer ? { peer } : {}) }, raw);
      return;
    }
    options.secure!.upgrade(raw).then(
      ({ socket, cert, resumed, refusal }) => handOver({ socket, address, resumed, ...(cert ? { cert } : {}), ...(refusal ? { refusal } : {}), ...(peer ? { peer } : {}) }, raw),
      (err: unknown) => {
        const e = err instanceof FlyMeError ? err : flymeError('FLYME_HANDSHAKE_FAILED', `TLS handshake failed: ${(err as Error)?.message ?? String(err)}`);
        refused(e, raw, peer);
        raw.destroy();
      },
    );
  });
  server.on('error', () => { /* surfaced through the listen promise or per-socket errors */ });

  const mode = options.socketMode ?? DEFAULT_SOCKET_MODE;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? flymeError('FLYME_ADDRESS_IN_USE', `address ${url} is already in use`, { address: url })
        : err);
    };
    server.once('error', onError);
    if (address.kind === 'tcp') {
      server.listen({ host: address.host, port: address.port }, () => { server.off('error', onError); resolve(); });
    } else {
      // Bind with a restrictive umask so the socket never exists with looser permissions, then chmod.
      const old = address.kind === 'unix' ? process.umask(0o777 & ~mode) : undefined;
      try {
        server.listen({ path: unixSocketPath(address) }, () => { server.off('error', onError); resolve(); });
      } finally {
        if (old !== undefined) process.umask(old);
      }
    }
  });
  if (address.kind === 'unix') applySocketPermissions(address.path, mode, options.socketGroup);

  let bound: Address = address;
  if (address.kind === 'tcp' && address.port === 0) {
    const a = server.address();
    if (a && typeof a === 'object') bound = { ...address, port: a.port, url: `${address.tls ? 'tls' : 'tcp'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${a.port}` };
  }
  return {
    address: bound,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (address.kind === 'unix') removeSocketFile(address.path);
    }),
  };
}
