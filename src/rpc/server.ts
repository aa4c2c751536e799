/**
 * RpcServer: methods with schemas and permissions, served on one or more listeners.
 *
 * @example
 * const server = new RpcServer({ logger })
 * server.method({ name: 'ping', params: Type.Object({ message: Type.String() }), permission: 'ping',
 *   handler: ({ message }) => ({ message, time: new Date().toISOString() }) })
 * await server.listen('unix:///run/flyme/flyme.sock')
 */
import type { TSchema } from '@sinclair/typebox';
import { flymeError, type FlyMeError, type FlyMeErrorCode } from '../errors.js';
import { sweepPeriodMs } from '../duration.js';
import { listen, type AcceptedConnection, type Listener, type ListenOptions } from '../transport/listener.js';
import { parseAddress, type Address } from '../transport/address.js';
import { PeerLimit } from '../transport/peer-limit.js';
import { describePrincipal, emptyPrincipal, type Principal } from '../auth/principal.js';
import { ignoreSecurityEvents, type SecurityEventSink } from '../auth/events.js';
import { publicOnlyAuthorize, type Authorize } from './authorize.js';
import type { Policy } from '../auth/policy/policy.js';
import { policyGetter } from '../auth/policy/getter.js';
import { ServerConnection } from './connection.js';
import { encodeError } from '../wire/jsonrpc.js';
import { Dispatcher } from './dispatcher.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { compileMethod, type CompiledMethod, type MethodDefinition } from './method.js';

export interface ServerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/**
 * Cheap synchronous hooks for metrics (flymed's Prometheus counters). They run on the hot path: keep each to a
 * counter increment. A throw is swallowed. Names passed are bounded: `method` is a registered method's name
 * (undefined for any other), codes come from the error catalog.
 */
export interface RpcObserver {
  /**
   * A request or notification settled, once (or was refused before dispatch: in-flight limit, shutting down,
   * duplicate id): `code` undefined on success, else the error answered.
   */
  call?(method: string | undefined, code: FlyMeErrorCode | undefined): void;
  /** A connection passed every check and is served. */
  accepted?(address: Address): void;
  /** A connection was refused before it was served (limits, no credentials, TLS, admitPrincipal). */
  refused?(reason: FlyMeError, address: Address): void;
}

export interface RpcServerOptions {
  limits?: Partial<ServerLimits>;
  /**
   * Who holds which roles and what each role may call (a `Policy`, or a getter for a reloading one such as
   * `PolicyStore#current`). Roles are assigned at accept and every call is decided over it (auth/decision.ts).
   * Without a policy, `assignRoles` or `authorize`, nobody holds a role: only public methods may be called.
   */
  policy?: Policy | (() => Policy);
  /** Replaces the policy's decision (e.g. to add a gate); default: the policy's, or public methods only. */
  authorize?: Authorize;
  /** Builds the principal's roles from its identity; default: the policy's bindings, or none. */
  assignRoles?(p: Principal, conn: AcceptedConnection): void;
  logger?: ServerLogger;
  /** Last check on a new connection once its principal is known (e.g. lockdown): an error refuses it. */
  admitPrincipal?(p: Principal): FlyMeError | undefined;
  /** Called for every connection refused before serving (no creds, handshake failure, limits). */
  onRefused?(reason: FlyMeError): void;
  /** Security events: denied calls (`denied`), refused connections (`handshake_failed` /
   * `unauthenticated`), allowed calls of privileged methods (`privileged_call`). */
  events?: SecurityEventSink;
  /** Counting hooks (metrics). */
  observer?: RpcObserver;
}

export interface ServerStats {
  connections: number;
  connectionsTotal: number;
  requestsServed: number;
  refused: number;
  denied: number;
}

const silent: ServerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export class RpcServer {
  readonly limits: ServerLimits;
  private readonly methods = new Map<string, CompiledMethod>();
  private readonly connections = new Set<ServerConnection>();
  private readonly listeners: Listener[] = [];
  private readonly dispatcher: Dispatcher;
  private readonly log: ServerLogger;
  private readonly events: SecurityEventSink;
  private authorizeFn: Authorize;
  private readonly policyOf: (() => Policy) | undefined;
  /** One per-peer connection count across every listener of this server. */
  private readonly peerLimit: PeerLimit;
  private nextId = 1;
  /** Admitted sockets not yet closed: serving, or still in their TLS handshake. */
  private openSockets = 0;
  private readonly socketClosed = (): void => { this.openSockets--; };
  /** One function for every connection (not a closure each). */
  private readonly connectionClosed = (closed: ServerConnection): void => {
    this.connections.delete(closed);
    this.stats.connections = this.connections.size;
  };
  private sweeper: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  readonly stats: ServerStats = { connections: 0, connectionsTotal: 0, requestsServed: 0, refused: 0, denied: 0 };
  readonly startedAt = Date.now();

  constructor(private readonly options: RpcServerOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.peerLimit = new PeerLimit(this.limits.maxConnectionsPerPeer);
    this.log = options.logger ?? silent;
    const policyOf = policyGetter(options.policy);
    this.policyOf = policyOf;
    this.authorizeFn = options.authorize ?? (policyOf ? (p, permission, method) => policyOf().authorize(p, permission, method) : publicOnlyAuthorize);
    this.events = options.events ?? ignoreSecurityEvents;
    this.dispatcher = new Dispatcher(this.methods, () => this.authorizeFn, {
      served: () => { this.stats.requestsServed++; },
      denied: (conn, method, err) => {
        this.stats.denied++;
        this.log.warn({ event: 'denied', method, peer: conn.principal.peer, spiffeId: conn.principal.cert?.spiffeId, reason: err.message }, 'call denied');
        this.events.emit({
          kind: 'denied', severity: 'warning', source: 'flymed', message: err.message,
          principal: describePrincipal(conn.principal), subject: method, decision: 'deny', reason: err.code,
          ...(typeof err.data.permission === 'string' ? { details: { permission: err.data.permission } } : {}),
        });
      },
      privileged: (conn, method) => {
        this.events.emit({
          kind: 'privileged_call', severity: 'info', source: 'flymed', message: `${method} called`,
          principal: describePrincipal(conn.principal), subject: method, decision: 'allow',
        });
      },
      internalError: (_conn, method, err) => this.log.error({ event: 'internal_error', method, err: String((err as Error)?.stack ?? err) }, 'handler failed'),
      ...(options.observer?.call ? { settled: (method, code) => options.observer!.call!(method, code) } : {}),
    });
  }

  /** Register a method. Params are validated against `params` before the handler runs. */
  method<S extends TSchema>(def: MethodDefinition<S>): this {
    if (this.methods.has(def.name)) throw new TypeError(`method ${def.name} is already registered`);
    this.methods.set(def.name, compileMethod(def as unknown as MethodDefinition));
    return this;
  }

  /** Swap the authorize hook (e.g. on policy reload); applies to the next request. */
  setAuthorize(fn: Authorize): void {
    this.authorizeFn = fn;
  }

  get listenerAddresses(): string[] {
    return this.listeners.map((l) => l.address.url);
  }

  async listen(url: string, options: Omit<ListenOptions, 'onConnection' | 'admit' | 'onRefused' | 'warn' | 'peerLimit'> = {}): Promise<string> {
    const address = parseAddress(url);
    const l = await listen(url, {
      ...options,
      peerLimit: this.peerLimit,
      warn: (m) => this.log.warn({ listener: url }, m),
      admit: (raw) => {
        if (this.shuttingDown) return flymeError('FLYME_SHUTTING_DOWN', 'server is shutting down');
        // Count sockets still in their TLS handshake too: a flood of handshakes that never finish is bounded.
        if (this.openSockets >= this.limits.maxConnections) {
          return flymeError('FLYME_TOO_MANY_CONNECTIONS', `server is at its limit of ${this.limits.maxConnections} connections`);
        }
        this.openSockets++;
        raw.on('close', this.socketClosed); // one function for every socket; 'close' is emitted once
        return undefined;
      },
      onRefused: (reason, _raw, peer) => {
        this.stats.refused++;
        this.observe((o) => o.refused?.(reason, address));
        this.log.warn({ event: 'refused', listener: url, code: reason.code, peer, reason: reason.message }, 'connection refused');
        this.options.onRefused?.(reason);
        const why = typeof reason.data.reason === 'string' ? reason.data.reason : reason.code;
        const kind = typeof reason.data.reason === 'string' || reason.code === 'FLYME_HANDSHAKE_FAILED' ? 'handshake_failed'
          : reason.code === 'FLYME_UNAUTHENTICATED' ? 'unauthenticated' : 'connection_refused';
        this.events.emit({
          kind, severity: 'warning', source: 'flymed',
          message: reason.message, subject: url, decision: 'deny', reason: why,
          ...(peer ? { principal: { transport: url, peer } } : { principal: { transport: url } }),
        });
      },
      onConnection: (conn) => this.accept(conn),
    });
    this.listeners.push(l);
    // Request deadlines and the idle timeout of every connection (no timer per socket), each at most one period late.
    this.sweeper ??= setInterval(() => this.sweep(), sweepPeriodMs(Math.min(this.limits.requestTimeoutMs, this.limits.idleTimeoutMs))).unref();
    return l.address.url;
  }

  private accept(conn: AcceptedConnection): void {
    if (conn.refusal) {
      // Only upgraders that defer refusals produce this; a JSON-RPC server never serves such a connection.
      conn.socket.destroy();
      return;
    }
    const principal = emptyPrincipal(conn.address.url, conn.peer);
    if (conn.cert) {
      const { der: _der, ...cert } = conn.cert;
      principal.cert = cert;
    }
    if (this.options.assignRoles) this.options.assignRoles(principal, conn);
    else this.policyOf?.().assignRoles(principal);
    const refused = this.options.admitPrincipal?.(principal);
    if (refused) {
      this.stats.refused++;
      this.observe((o) => o.refused?.(refused, conn.address));
      this.log.warn({ event: 'refused', listener: conn.address.url, code: refused.code, peer: principal.peer, spiffeId: principal.cert?.spiffeId }, refused.message);
      this.events.emit({
        kind: 'connection_refused', severity: 'warning', source: 'flymed', message: refused.message,
        principal: describePrincipal(principal), subject: conn.address.url, decision: 'deny', reason: refused.code,
      });
      conn.socket.on('error', () => {});
      conn.socket.end(encodeError(null, refused));
      setTimeout(() => conn.socket.destroy(), 1000).unref();
      return;
    }
    const c = new ServerConnection(this.nextId++, conn, principal, this.limits, this.dispatcher, this.connectionClosed);
    this.connections.add(c);
    this.stats.connections = this.connections.size;
    this.stats.connectionsTotal++;
    this.observe((o) => o.accepted?.(conn.address));
    this.log.debug({ event: 'connected', id: c.id, peer: principal.peer, spiffeId: principal.cert?.spiffeId }, 'connection accepted');
  }

  private observe(fn: (o: RpcObserver) => void): void {
    if (!this.options.observer) return;
    try {
      fn(this.options.observer);
    } catch {
      // counting must never break serving
    }
  }

  /** Live connections (for broadcast, kill switch, status). */
  get liveConnections(): ReadonlySet<ServerConnection> {
    return this.connections;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) {
      if (c.pending > 0) c.sweep(now);
      c.checkIdle(now); // with calls in flight too: it also ends a line begun too long ago
    }
  }

  /** Stop accepting, let in-flight requests finish up to the grace deadline, close everything. */
  /**
   * Change limits of the running server (flymed's SIGHUP). Connection counts, requests in flight, the
   * request timeout and the shutdown grace apply at once; the frame size and the idle timeout apply to
   * connections accepted afterwards. Open connections are never closed for a lower limit.
   */
  updateLimits(partial: Partial<ServerLimits>): void {
    const next = resolveLimits({ ...this.limits, ...partial });
    Object.assign(this.limits, next);
    this.peerLimit.max = next.maxConnectionsPerPeer;
  }

  async close(graceMs = this.limits.shutdownGraceMs): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    // net.Server#close resolves only when every connection has ended, so don't wait for it here.
    const listenersClosed = Promise.all(this.listeners.map((l) => l.close()));
    for (const c of this.connections) c.draining = true;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.connections].some((c) => c.inFlight.size > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.close();
    const hardDeadline = Date.now() + 1000;
    while (this.connections.size > 0 && Date.now() < hardDeadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.connections) c.destroy();
    if (this.sweeper) clearInterval(this.sweeper);
    await listenersClosed;
  }
}
