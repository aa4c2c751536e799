/**
 * The shared part of FlyMe's gRPC servers: FlyMe's own listeners accept each connection (kernel peer
 * credentials on Unix sockets, mutual TLS when an upgrader is given), record what was established in a
 * PeerRegistry, and inject the connection into grpc-js, which speaks HTTP/2 over it.
 */
import * as grpc from '@grpc/grpc-js';
import type { SecurityEventSink } from '../auth/events.js';
import { flymeError } from '../errors.js';
import { listen, type AcceptedConnection, type Listener, type SecureUpgrader } from '../transport/listener.js';
import { pinPeerProcess } from '../transport/peercred.js';
import type { PeerRegistry } from './peers.js';

export interface InjectingOptions {
  /** Mutual TLS for every listener (absent: plain Unix sockets only, identified by kernel credentials). */
  upgrader?: SecureUpgrader;
  /** Keep a pidfd of each Unix-socket peer for the life of the connection (Workload API attestation). */
  pinPeers?: boolean;
  /** Mode of Unix socket files (default 0o660). */
  socketMode?: number;
  /** Mode of a socket directory FlyMe has to create (default 0o750). */
  dirMode?: number;
  /** Most concurrent connections, handshakes included (default 1024). */
  maxConnections?: number;
  /** Most connections from one peer: remote address on TCP, uid on Unix sockets (default 64). */
  maxConnectionsPerPeer?: number;
  events?: SecurityEventSink;
  source?: string;
}

/**
 * Connection hygiene every FlyMe gRPC server gets unless told otherwise: a connection without calls is closed
 * after 5 minutes (this also reaps HTTP/2 sessions a protocol error left half-dead: Node stops reading them
 * after its GOAWAY, so the peer's close would never be seen), and peers are pinged every 2 minutes.
 */
export const DEFAULT_CONNECTION_OPTIONS: grpc.ServerOptions = {
  'grpc.max_connection_idle_ms': 5 * 60_000,
  'grpc.keepalive_time_ms': 2 * 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

export class InjectingServer {
  readonly server: grpc.Server;
  readonly #injector: grpc.ConnectionInjector;
  readonly #listeners: Listener[] = [];
  readonly #sockets = new Set<{ destroy(): void }>();
  #open = 0;

  /** A grpc.Server whose first interceptor is `interceptor` (FlyMe's auth check), fed by FlyMe's listeners. */
  constructor(readonly peers: PeerRegistry, interceptor: grpc.ServerInterceptor, serverOptions: grpc.ServerOptions | undefined, private readonly o: InjectingOptions) {
    this.server = new grpc.Server({ ...DEFAULT_CONNECTION_OPTIONS, ...serverOptions, interceptors: [interceptor, ...(serverOptions?.interceptors ?? [])] });
    // TLS (when any) is FlyMe's: grpc-js only speaks HTTP/2 over the accepted, verified socket.
    this.#injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  /** Listens on a FlyMe URL (`unix://`, `unix+tls://`, `tls://`); returns the bound address. */
  async listen(url: string): Promise<Listener['address']> {
    const max = this.o.maxConnections ?? 1024;
    const l = await listen(url, {
      ...(this.o.upgrader ? { secure: this.o.upgrader } : {}),
      socketMode: this.o.socketMode ?? 0o660,
      ...(this.o.dirMode !== undefined ? { dirMode: this.o.dirMode } : {}),
      maxConnectionsPerPeer: this.o.maxConnectionsPerPeer ?? 64,
      admit: (raw) => {
        if (this.#open >= max) return flymeError('FLYME_TOO_MANY_CONNECTIONS', `server is at its limit of ${max} connections`);
        this.#open++;
        raw.once('close', () => { this.#open--; });
        return undefined;
      },
      onConnection: (conn) => this.#inject(conn),
      onRefused: (reason) => {
        this.o.events?.emit({
          kind: 'handshake_failed', severity: 'warning', source: this.o.source ?? 'grpc', message: reason.message, subject: url, decision: 'deny',
          reason: typeof reason.data.reason === 'string' ? reason.data.reason : reason.code,
        });
      },
    });
    this.#listeners.push(l);
    return l.address;
  }

  #inject(conn: AcceptedConnection): void {
    const socket = conn.socket;
    socket.on('error', () => undefined);
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    let pinned;
    try {
      pinned = this.o.pinPeers && conn.peer ? pinPeerProcess(socket as never) : undefined;
    } catch {
      pinned = undefined; // the peer is then never attested (see the attestor)
    }
    this.peers.register(socket, {
      ...(conn.peer ? { peer: conn.peer } : {}), ...(conn.cert ? { cert: conn.cert } : {}),
      ...(conn.refusal ? { refusal: conn.refusal } : {}), ...(pinned ? { process: pinned } : {}),
    });
    try {
      this.#injector.injectConnection(socket);
    } catch {
      socket.destroy();
    }
  }

  /** Closes the listeners, then the connections: in-flight calls get `graceMs`, then everything is cut. */
  async shutdown(graceMs = 5000): Promise<void> {
    // net.Server#close completes only once every connection has ended: start it, await it last.
    const listenersClosed = Promise.all(this.#listeners.map((l) => l.close()));
    this.#injector.drain(graceMs);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs + 100); }),
    ]);
    clearTimeout(timer);
    this.server.forceShutdown();
    for (const s of this.#sockets) s.destroy();
    this.#injector.destroy();
    await listenersClosed;
  }
}
