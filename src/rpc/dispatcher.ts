/** Routes one request: method lookup → authorize → schema validation → handler → response. */
import { FlyMeError, flymeError, type FlyMeErrorCode } from '../errors.js';
import type { JsonRpcId } from '../wire/jsonrpc.js';
import type { Authorize } from './authorize.js';
import { validateParams, type CallContext, type CompiledMethod, type ConnectionHandle } from './method.js';
import type { Principal } from '../auth/principal.js';
import type { InFlight, ServerConnection } from './connection.js';

export interface DispatchEvents {
  /** Every denial, for logs and audit. */
  denied?(conn: ServerConnection, method: string, err: FlyMeError): void;
  /** A handler threw something that is not a FlyMeError. */
  internalError?(conn: ServerConnection, method: string, err: unknown): void;
  served?(): void;
  /** An allowed call of a method marked `privileged`, after its params validated. */
  privileged?(conn: ServerConnection, method: string): void;
  /**
   * Every request and notification, once, when it settles or is refused before dispatch: `method` is a
   * registered method's name or undefined for a name that is not registered; `code` is undefined on success,
   * else the error answered (FLYME_TIMEOUT past the deadline, FLYME_CONNECTION_CLOSED when the peer left
   * first, FLYME_TOO_MANY_REQUESTS for a request or notification over the in-flight limit). Runs on the hot
   * path: keep it to a counter increment. A throw is swallowed.
   */
  settled?(method: string | undefined, code: FlyMeErrorCode | undefined): void;
}

export class Dispatcher {
  constructor(
    private readonly methods: Map<string, CompiledMethod>,
    private readonly authorize: () => Authorize,
    private readonly events: DispatchEvents,
  ) {}

  /** Reports a settled call to `events.settled`; never throws. */
  settled(method: string | undefined, code: FlyMeErrorCode | undefined): void {
    if (!this.events.settled) return;
    try {
      this.events.settled(method, code);
    } catch {
      // counting must never break serving
    }
  }

  /** A request or notification the connection refused before dispatch (in-flight limit, shutting down, duplicate id). */
  refused(name: string, code: FlyMeErrorCode): void {
    this.settled(this.methods.has(name) ? name : undefined, code);
  }

  dispatch(conn: ServerConnection, id: JsonRpcId | undefined, name: string, params: unknown): void {
    const m = this.methods.get(name);
    if (!m) {
      this.settled(undefined, 'FLYME_METHOD_NOT_FOUND');
      if (id !== undefined) conn.replyError(id, flymeError('FLYME_METHOD_NOT_FOUND', `Method not found: ${name}`, { method: name }));
      return;
    }
    let denied: FlyMeError | undefined;
    try {
      denied = this.authorize()(conn.principal, m.def.permission, name);
    } catch (err) {
      // A throwing authorize hook must not end the process (this runs in the socket's 'data' handler): deny.
      this.events.internalError?.(conn, name, err);
      denied = flymeError('FLYME_INTERNAL', `internal error while authorizing ${name}`);
    }
    if (denied) {
      this.settled(name, denied.code);
      this.events.denied?.(conn, name, denied);
      if (id !== undefined) conn.replyError(id, denied);
      return;
    }
    let value: unknown;
    try {
      value = validateParams(m, params);
    } catch (err) {
      this.settled(name, err instanceof FlyMeError ? err.code : 'FLYME_INTERNAL');
      if (id !== undefined) conn.replyError(id, err as FlyMeError);
      return;
    }
    if (m.def.privileged) this.events.privileged?.(conn, name);
    const ctx = new Context(conn, name);
    let out: unknown;
    try {
      out = m.def.handler(value as never, ctx);
    } catch (err) {
      this.finishError(conn, id, name, err, undefined);
      return;
    }
    if (out instanceof Promise) {
      // Only a call that did not finish synchronously goes in flight (counted, timed out, abortable): the
      // sync path does no map insert and delete. Nothing else runs between the handler's return and this.
      const entry = ctx.entry ??= conn.newEntry(name);
      if (id !== undefined) conn.begin(id, entry);
      else conn.beginNotification(entry);
      out.then((r) => this.finishOk(conn, id, r, entry), (err: unknown) => this.finishError(conn, id, name, err, entry));
    } else {
      this.events.served?.();
      this.settled(name, id !== undefined ? conn.reply(id, out === undefined ? {} : out) : undefined);
    }
  }

  private finishOk(conn: ServerConnection, id: JsonRpcId | undefined, result: unknown, entry: InFlight): void {
    this.events.served?.();
    if (id !== undefined) conn.respond(id, result === undefined ? {} : result);
    else conn.endNotification(entry);
  }

  /** `entry` is undefined when the handler threw synchronously (the call never went in flight). */
  private finishError(conn: ServerConnection, id: JsonRpcId | undefined, name: string, err: unknown, entry: InFlight | undefined): void {
    let e: FlyMeError;
    if (err instanceof FlyMeError) {
      e = err;
    } else {
      this.events.internalError?.(conn, name, err);
      e = flymeError('FLYME_INTERNAL', `internal error in ${name}`);
    }
    if (e.code === 'FLYME_PERMISSION_DENIED') this.events.denied?.(conn, name, e);
    if (!entry) {
      // Threw before going in flight: settled here.
      this.settled(name, e.code);
      if (id !== undefined) conn.replyError(id, e);
    } else if (id !== undefined) {
      conn.fail(id, e);
    } else {
      conn.endNotification(entry, e.code);
    }
  }
}

/** The CallContext of one call: a small object, with the connection's parts read on demand. */
class Context implements CallContext {
  entry: InFlight | undefined;
  constructor(private readonly conn: ServerConnection, private readonly method: string) {}
  get principal(): Principal {
    return this.conn.principal;
  }
  get connectionId(): number {
    return this.conn.id;
  }
  get notify(): CallContext['notify'] {
    const conn = this.conn;
    return (method, params) => conn.notify(method, params);
  }
  get connection(): ConnectionHandle {
    return this.conn.handle;
  }
  get clientCertDer(): Uint8Array | undefined {
    return this.conn.conn.cert?.der;
  }
  get signal(): AbortSignal {
    return ((this.entry ??= this.conn.newEntry(this.method)).abort ??= new AbortController()).signal;
  }
}
