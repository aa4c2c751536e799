/**
 * One server-side connection: frames lines, dispatches requests, enforces in-flight, idle and
 * request limits, and stops reading from a peer that does not read its responses.
 */
import { flymeError, type FlyMeError, type FlyMeErrorCode } from '../errors.js';
import { LineDecoder, type LineSink } from '../wire/framing.js';
import { encodeError, encodeNotification, encodeResult, parseFrame, parseText, type JsonRpcId, type RpcMessage } from '../wire/jsonrpc.js';
import { ignoreSocketError, type AcceptedConnection } from '../transport/listener.js';
import type { Principal } from '../auth/principal.js';
import type { ServerLimits } from './limits.js';
import type { Dispatcher } from './dispatcher.js';
import type { ConnectionHandle } from './method.js';
import { InFlightTable } from './in-flight.js';

/** A request in flight. The AbortController is created only if a handler asks for its signal. */
export interface InFlight {
  deadline: number;
  /** The registered method being handled (for the outcome count when it settles). */
  method: string;
  abort?: AbortController;
}

/** Queued output is written at once when it reaches this size (a burst of notifications, a large result). */
const FLUSH_AT = 64 * 1024;

/**
 * Queued answers past maxWriteBufferBytes × this close the connection: reading stops at maxWriteBufferBytes,
 * but up to maxInFlight calls already running still answer into the queue. Room enough for a peer that reads
 * while many large answers complete at once (64 `list` answers of the largest size fit under 64 MiB).
 */
const HARD_LIMIT_FACTOR = 16;

/** The socket's owner, so one set of listener functions serves every connection (no closures per socket). */
const OWNER = Symbol('flyme.connection');
type Owned = AcceptedConnection['socket'] & { [OWNER]: ServerConnection };

const EMPTY: ReadonlySet<InFlight> = new Set();

/**
 * Memory per idle connection matters (thousands of mostly idle clients): listeners are shared functions, the
 * decoder's sink is the connection itself, and the in-flight tables are created on first use.
 */
export class ServerConnection implements LineSink {
  /** Keyed by the id's exact value (a 64-bit id beyond 2^53 is its own key). */
  readonly inFlight = new InFlightTable<InFlight>();
  /** Notifications being handled: they count against maxInFlight and the request timeout like requests. */
  private notes: Set<InFlight> | undefined;
  private readonly decoder: LineDecoder;
  /** Lines written in this tick, sent with one socket write when the tick ends (see `write`). */
  private out = '';
  private flushScheduled = false;
  private paused = false;
  /** Frames read while paused for backpressure, handled in order once the peer reads again (see accept). */
  private held: RpcMessage[] | undefined;
  private closed = false;
  draining = false;
  /** Connections with a live subscription are exempt from the idle timeout. */
  keepAlive = false;
  private closeListeners: Array<() => void> | undefined;
  /** The handle handlers see (CallContext.connection); created on first use. */
  private handleCache: ConnectionHandle | undefined;

  constructor(
    readonly id: number,
    readonly conn: AcceptedConnection,
    readonly principal: Principal,
    private readonly limits: ServerLimits,
    private readonly dispatcher: Dispatcher,
    private readonly onClose: (c: ServerConnection) => void,
  ) {
    const socket = conn.socket as unknown as Owned;
    // Fixed for this connection's life (RpcServer.updateLimits changes them for later connections only).
    this.idleTimeoutMs = limits.idleTimeoutMs;
    this.decoder = new LineDecoder(this, limits.maxFrameBytes);
    socket[OWNER] = this;
    socket.on('data', ServerConnection.onData);
    // 'drain' is listened to only while paused for backpressure (see flush): one listener less per idle socket.
    socket.on('error', ServerConnection.onError);
    // This handler replaces the listener's placeholder (kept from accept until now so an early reset could not
    // crash the process): a single 'error' listener instead of an array of two on every socket.
    socket.removeListener('error', ignoreSocketError);
    socket.on('close', ServerConnection.onSocketClose);
    // A peer that half-closes after its requests still gets every answer: without this Node ends our side as
    // soon as theirs ends, and answers of calls still in flight (or queued in this tick) were lost.
    socket.allowHalfOpen = true;
    socket.on('end', ServerConnection.onEnd);
    // No timer per socket for the idle timeout: the server's sweep calls checkIdle on every connection.
  }

  private readonly idleTimeoutMs: number;
  /** Last read or write on the socket (Date.now()); Infinity once closed for idleness. */
  private lastActive = Date.now();

  /** When the line now being read began, while part of one is buffered (see checkIdle); else undefined. */
  private partialSince: number | undefined;
  /** A line ended during the current push. */
  private lineEnded = false;

  private static onData(this: Owned, chunk: Buffer): void {
    const c = this[OWNER];
    const now = (c.lastActive = Date.now());
    c.lineEnded = false;
    c.decoder.push(chunk);
    if (c.decoder.buffered === 0) c.partialSince = undefined;
    else if (c.lineEnded || c.partialSince === undefined) c.partialSince = now;
  }

  private static onDrain(this: Owned): void {
    this[OWNER].maybeResume();
  }

  private static onError(this: Owned): void {
    this.destroy();
  }

  private static onSocketClose(this: Owned): void {
    this[OWNER].finish();
  }

  /** Half-close from the peer: answer what is in flight, then close. */
  private static onEnd(this: Owned): void {
    const c = this[OWNER];
    if (c.pending === 0) c.end();
  }

  /**
   * The idle timeout, called by the server's sweep (RpcServer, every min(250 ms, timeouts / 4)): a connection with
   * nothing read or written for idleTimeoutMs, no call in flight and no subscription is closed with FLYME_TIMEOUT.
   * One shared sweep instead of a timer per socket (a Timeout object and a bound function each, refreshed on
   * every read and write); an idle connection is closed at most one sweep period late.
   */
  checkIdle(now: number): void {
    // Any byte counts as activity, so one byte every few seconds kept a connection (and its slot) forever: a
    // line must also end within the idle timeout of its first byte.
    if (this.partialSince !== undefined && now - this.partialSince >= this.idleTimeoutMs && !this.closed) {
      this.partialSince = undefined;
      this.lastActive = Infinity;
      this.sendFatal(flymeError('FLYME_TIMEOUT', `a request line was not completed within ${this.idleTimeoutMs} ms; closing`));
      return;
    }
    if (this.closed || this.pending > 0 || this.keepAlive || now - this.lastActive < this.idleTimeoutMs) return;
    this.lastActive = Infinity; // once
    this.sendFatal(flymeError('FLYME_TIMEOUT', `idle for ${this.idleTimeoutMs} ms; closing`));
  }

  /** LineSink: a frame with non-ASCII bytes (checked for UTF-8 by parseFrame). */
  line(frame: Buffer): void {
    this.lineEnded = true;
    if (frame.length !== 0) this.accept(parseFrame(frame));
  }

  /** LineSink: an ASCII frame, already decoded. */
  lineText(text: string): void {
    this.lineEnded = true;
    if (text.length !== 0) this.accept(parseText(text));
  }

  /**
   * A frame read from the peer: handled now, or held while the peer is not reading its answers. Pausing the
   * socket stops further reads, but the chunk already read is framed to its end: without holding, every request
   * in it (a 64 KiB chunk holds hundreds) was dispatched and answered into the queue the pause was meant to
   * bound. What is held is at most the rest of that one chunk; it is handled as the queue drains.
   */
  private accept(msg: RpcMessage): void {
    if (this.held !== undefined || this.paused) (this.held ??= []).push(msg);
    else this.onMessage(msg);
  }

  /** Handle held frames until the queue fills again (then the rest waits for the next drain). */
  private release(): void {
    const held = this.held;
    if (held === undefined) return;
    let i = 0;
    while (i < held.length && !this.paused && !this.closed) this.onMessage(held[i++]!);
    if (i === held.length || this.closed) this.held = undefined;
    else held.splice(0, i);
  }

  /** LineSink: the peer exceeded the frame limit. */
  overflow(): void {
    const maxFrameBytes = this.decoder.maxFrameBytes;
    this.sendFatal(flymeError('FLYME_FRAME_TOO_LARGE', `frame exceeds the maximum of ${maxFrameBytes} bytes; closing`, { maxFrameBytes }));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get handle(): ConnectionHandle {
    const self = this;
    return (this.handleCache ??= {
      id: this.id,
      get closed() { return self.closed; },
      // What the socket holds: lines queued in this tick go out at its end (at most FLUSH_AT bytes wait).
      bufferedBytes: () => this.conn.socket.writableLength,
      keepAlive: (on) => { this.keepAlive = on; },
      onClose: (fn) => {
        if (this.closed) fn();
        else (this.closeListeners ??= []).push(fn);
      },
      close: () => this.close(),
    });
  }

  /** One frame (blank lines, the keep-alives, never get here). */
  private onMessage(msg: RpcMessage): void {
    switch (msg.kind) {
      case 'invalid':
        this.write(encodeError(msg.id, msg.error));
        return;
      case 'response':
        return; // FlyMe servers send no requests, so responses are ignored
      case 'notification':
        // No response can say "too many": over the limit a notification is dropped (and counted).
        if (this.draining || this.busy) {
          this.dispatcher.refused(msg.method, this.draining ? 'FLYME_SHUTTING_DOWN' : 'FLYME_TOO_MANY_REQUESTS');
          return;
        }
        this.dispatcher.dispatch(this, undefined, msg.method, msg.params);
        return;
      case 'request':
        if (this.draining) {
          this.dispatcher.refused(msg.method, 'FLYME_SHUTTING_DOWN');
          this.write(encodeError(msg.id, flymeError('FLYME_SHUTTING_DOWN', 'server is shutting down')));
          return;
        }
        if (this.inFlight.has(msg.id)) {
          this.dispatcher.refused(msg.method, 'FLYME_INVALID_REQUEST');
          this.write(encodeError(msg.id, flymeError('FLYME_INVALID_REQUEST', 'Invalid Request: this id is already in flight on this connection')));
          return;
        }
        if (this.busy) {
          this.dispatcher.refused(msg.method, 'FLYME_TOO_MANY_REQUESTS');
          this.write(encodeError(msg.id, flymeError('FLYME_TOO_MANY_REQUESTS', `more than ${this.limits.maxInFlight} requests in flight on this connection`)));
          return;
        }
        this.dispatcher.dispatch(this, msg.id, msg.method, msg.params);
    }
  }

  /** Requests and notifications being handled. */
  get pending(): number {
    return this.inFlight.size + (this.notes?.size ?? 0);
  }

  /** At the in-flight limit, notifications included. */
  get busy(): boolean {
    return this.pending >= this.limits.maxInFlight;
  }

  /** Register a notification as in flight until `endNotification` (or its deadline). */
  beginNotification(entry: InFlight): InFlight {
    (this.notes ??= new Set()).add(entry);
    return entry;
  }

  /** A fresh in-flight record whose deadline is one request timeout from now. */
  newEntry(method: string): InFlight {
    return { deadline: Date.now() + this.limits.requestTimeoutMs, method };
  }

  /** A notification's handler settled: `code` undefined on success. Ignored when it already timed out. */
  endNotification(entry: InFlight, code?: FlyMeErrorCode): void {
    if (!this.notes?.delete(entry)) return;
    this.dispatcher.settled(entry.method, code);
    this.afterComplete();
  }

  /** Register a request as in flight (called by the dispatcher for async handlers). */
  begin(id: JsonRpcId, entry: InFlight): InFlight {
    this.inFlight.set(id, entry);
    return entry;
  }

  /** Complete a request: ignored when it already timed out. */
  respond(id: JsonRpcId, result: unknown): void {
    const entry = this.inFlight.take(id);
    if (!entry) return;
    this.dispatcher.settled(entry.method, this.reply(id, result));
    this.afterComplete();
  }

  fail(id: JsonRpcId, err: FlyMeError): void {
    const entry = this.inFlight.take(id);
    if (!entry) return;
    this.dispatcher.settled(entry.method, err.code);
    this.write(encodeError(id, err));
    this.afterComplete();
  }

  /** Answer immediately without going in flight (sync fast path and early refusals). */
  /** Returns the error code answered instead when the result cannot be serialised. */
  reply(id: JsonRpcId, result: unknown): FlyMeErrorCode | undefined {
    let line: string;
    let code: FlyMeErrorCode | undefined;
    try {
      line = encodeResult(id, result);
    } catch {
      code = 'FLYME_INTERNAL';
      line = encodeError(id, flymeError(code, 'the result could not be serialised'));
    }
    this.write(line);
    return code;
  }

  replyError(id: JsonRpcId, err: FlyMeError): void {
    this.write(encodeError(id, err));
  }

  notify(method: string, params?: unknown): boolean {
    if (this.closed) return false;
    // Pushed at once (after anything queued): a subscriber's backlog (bufferedBytes) then counts every
    // notification the moment it is sent, as slow-subscriber checks expect.
    this.write(encodeNotification(method, params));
    this.flush();
    return true;
  }

  /** Time out requests and notifications past their deadline. */
  sweep(now: number): void {
    for (const entry of this.notes ?? EMPTY) {
      if (entry.deadline <= now) {
        entry.abort?.abort();
        this.notes!.delete(entry);
        this.dispatcher.settled(entry.method, 'FLYME_TIMEOUT');
      }
    }
    for (const [id, entry] of this.inFlight) {
      if (entry.deadline <= now) {
        entry.abort?.abort();
        this.fail(id, flymeError('FLYME_TIMEOUT', `request timed out after ${this.limits.requestTimeoutMs} ms`));
      }
    }
  }

  /** Send an error with id null and close the connection. */
  sendFatal(err: FlyMeError): void {
    if (this.closed) return;
    const socket = this.conn.socket;
    socket.pause();
    this.end(encodeError(null, err));
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  close(): void {
    this.end();
    setTimeout(() => this.conn.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.conn.socket.destroy();
  }

  private afterComplete(): void {
    if (this.pending === 0 && (this.conn.socket as { readableEnded?: boolean }).readableEnded) this.end();
  }

  /** End the socket after what is queued (and `last`, if given). */
  private end(last?: string): void {
    if (last !== undefined) this.out += last;
    this.flush();
    this.conn.socket.end();
  }

  /**
   * Queue a line; every line queued in this tick goes out in one socket write at its end (process.nextTick
   * runs after the 'data' handler and after the promise jobs of the handlers that finished in it), so a burst
   * of pipelined requests costs one syscall, not one per response.
   */
  private write(line: string): void {
    if (this.closed || this.conn.socket.destroyed) return;
    this.out += line;
    if (this.out.length >= FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.conn.socket;
    const data = this.out;
    if (data === '') return;
    this.out = '';
    if (this.closed || socket.destroyed || socket.writableEnded) return;
    if (this.lastActive !== Infinity) this.lastActive = Date.now();
    const ok = socket.write(data);
    if (socket.writableLength > this.limits.maxWriteBufferBytes * HARD_LIMIT_FACTOR) {
      // Reading stopped at the soft limit, yet answers of calls already in flight kept coming: a peer that
      // lets this much pile up is not reading, and is cut off before it can exhaust the daemon's memory.
      socket.destroy();
      return;
    }
    if (!ok || socket.writableLength > this.limits.maxWriteBufferBytes) {
      if (!this.paused) {
        this.paused = true;
        socket.on('drain', ServerConnection.onDrain);
        socket.pause(); // backpressure: stop reading from a peer that does not read
        // 'drain' only fires when write() returned false; otherwise resume once the queue is flushed.
        if (ok) socket.write('', () => this.maybeResume());
      }
    }
  }

  private maybeResume(): void {
    if (this.paused && !this.closed && this.conn.socket.writableLength <= this.limits.maxWriteBufferBytes / 2) {
      this.paused = false;
      this.conn.socket.removeListener('drain', ServerConnection.onDrain);
      this.release();
      if (!this.paused && !this.decoder.overflowed) this.conn.socket.resume();
    } else if (this.paused && !this.closed && !this.conn.socket.writableNeedDrain) {
      this.conn.socket.write('', () => this.maybeResume()); // no 'drain' will come: check again after this flush
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = '';
    this.held = undefined;
    // Calls still running when the peer left: aborted, and counted as such.
    for (const entry of this.inFlight.values()) { entry.abort?.abort(); this.dispatcher.settled(entry.method, 'FLYME_CONNECTION_CLOSED'); }
    for (const entry of this.notes ?? EMPTY) { entry.abort?.abort(); this.dispatcher.settled(entry.method, 'FLYME_CONNECTION_CLOSED'); }
    this.inFlight.clear();
    this.notes = undefined;
    this.onClose(this);
    const listeners = this.closeListeners ?? [];
    this.closeListeners = undefined;
    for (const fn of listeners) {
      try {
        fn();
      } catch {
        // A handler's close hook runs in the socket's 'close' event: a throw there would end the process.
      }
    }
  }
}

