/**
 * One server-side connection: frames lines, dispatches requests, enforces in-flight, idle and
 * request limits, and stops reading from a peer that does not read its responses.
 */
import { flymeError, type FlyMeError, type FlyMeErrorCode } from '../errors.js';
import { LineDecoder } from '../wire/framing.js';
import { encodeError, encodeNotification, encodeResult, parseFrame, type JsonRpcId } from '../wire/jsonrpc.js';
import type { AcceptedConnection } from '../transport/listener.js';
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

export class ServerConnection {
  /** Keyed by the id's exact value (a 64-bit id beyond 2^53 is its own key). */
  readonly inFlight = new InFlightTable<InFlight>();
  /** Notifications being handled: they count against maxInFlight and the request timeout like requests. */
  readonly notifications = new Set<InFlight>();
  private readonly decoder: LineDecoder;
  private paused = false;
  private closed = false;
  draining = false;
  /** Connections with a live subscription are exempt from the idle timeout. */
  keepAlive = false;
  private closeListeners: Array<() => void> = [];
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
    const socket = conn.socket;
    this.decoder = new LineDecoder(
      {
        line: (frame) => this.onLine(frame),
        overflow: () => {
          this.sendFatal(flymeError('FLYME_FRAME_TOO_LARGE', `frame exceeds the maximum of ${limits.maxFrameBytes} bytes; closing`, { maxFrameBytes: limits.maxFrameBytes }));
        },
      },
      limits.maxFrameBytes,
    );
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.finish());
    socket.on('end', () => {
      // Half-close from the peer: answer what is in flight, then close.
      if (this.pending === 0) socket.end();
    });
    socket.setTimeout(limits.idleTimeoutMs, () => {
      if (this.pending > 0 || this.keepAlive) return;
      this.sendFatal(flymeError('FLYME_TIMEOUT', `idle for ${limits.idleTimeoutMs} ms; closing`));
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get handle(): ConnectionHandle {
    const self = this;
    return (this.handleCache ??= {
      id: this.id,
      get closed() { return self.closed; },
      bufferedBytes: () => this.conn.socket.writableLength,
      keepAlive: (on) => { this.keepAlive = on; },
      onClose: (fn) => {
        if (this.closed) fn();
        else this.closeListeners.push(fn);
      },
      close: () => this.close(),
    });
  }

  private onLine(frame: Buffer): void {
    if (frame.length === 0) return; // blank lines are keep-alives
    const msg = parseFrame(frame);
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
    return this.inFlight.size + this.notifications.size;
  }

  /** At the in-flight limit, notifications included. */
  get busy(): boolean {
    return this.pending >= this.limits.maxInFlight;
  }

  /** Register a notification as in flight until `endNotification` (or its deadline). */
  beginNotification(method: string): InFlight {
    const entry: InFlight = { deadline: Date.now() + this.limits.requestTimeoutMs, method };
    this.notifications.add(entry);
    return entry;
  }

  /** A notification's handler settled: `code` undefined on success. Ignored when it already timed out. */
  endNotification(entry: InFlight, code?: FlyMeErrorCode): void {
    if (!this.notifications.delete(entry)) return;
    this.dispatcher.settled(entry.method, code);
    this.afterComplete();
  }

  /** Register a request as in flight (called by the dispatcher for async handlers). */
  begin(id: JsonRpcId, method: string): InFlight {
    const entry: InFlight = { deadline: Date.now() + this.limits.requestTimeoutMs, method };
    this.inFlight.set(id, entry);
    return entry;
  }

  /** Complete a request: ignored when it already timed out. */
  respond(id: JsonRpcId, result: unknown): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    this.inFlight.delete(id);
    let line: string;
    let code: FlyMeErrorCode | undefined;
    try {
      line = encodeResult(id, result);
    } catch {
      code = 'FLYME_INTERNAL';
      line = encodeError(id, flymeError(code, 'the result could not be serialised'));
    }
    this.dispatcher.settled(entry.method, code);
    this.write(line);
    this.afterComplete();
  }

  fail(id: JsonRpcId, err: FlyMeError): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    this.inFlight.delete(id);
    this.dispatcher.settled(entry.method, err.code);
    this.write(encodeError(id, err));
    this.afterComplete();
  }

  /** Answer immediately without going in flight (sync fast path and early refusals). */
  reply(id: JsonRpcId, result: unknown): void {
    this.write(encodeResult(id, result));
  }

  replyError(id: JsonRpcId, err: FlyMeError): void {
    this.write(encodeError(id, err));
  }

  notify(method: string, params?: unknown): boolean {
    if (this.closed) return false;
    this.write(encodeNotification(method, params));
    return true;
  }

  /** Time out requests and notifications past their deadline. */
  sweep(now: number): void {
    for (const entry of this.notifications) {
      if (entry.deadline <= now) {
        entry.abort?.abort();
        this.notifications.delete(entry);
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
    socket.end(encodeError(null, err));
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  close(): void {
    this.conn.socket.end();
    setTimeout(() => this.conn.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.conn.socket.destroy();
  }

  private afterComplete(): void {
    if (this.pending === 0 && (this.conn.socket as { readableEnded?: boolean }).readableEnded) this.conn.socket.end();
  }

  private write(line: string): void {
    const socket = this.conn.socket;
    if (this.closed || socket.destroyed) return;
    const ok = socket.write(line);
    if (!ok || socket.writableLength > this.limits.maxWriteBufferBytes) {
      if (!this.paused) {
        this.paused = true;
        socket.pause(); // backpressure: stop reading from a peer that does not read
        // 'drain' only fires when write() returned false; otherwise resume once the queue is flushed.
        if (ok) socket.write('', () => this.maybeResume());
      }
    }
  }

  private maybeResume(): void {
    if (this.paused && !this.closed && this.conn.socket.writableLength <= this.limits.maxWriteBufferBytes / 2) {
      this.paused = false;
      if (!this.decoder.overflowed) this.conn.socket.resume();
    } else if (this.paused && !this.closed && !this.conn.socket.writableNeedDrain) {
      this.conn.socket.write('', () => this.maybeResume()); // no 'drain' will come: check again after this flush
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    // Calls still running when the peer left: aborted, and counted as such.
    for (const entry of this.inFlight.values()) { entry.abort?.abort(); this.dispatcher.settled(entry.method, 'FLYME_CONNECTION_CLOSED'); }
    for (const entry of this.notifications) { entry.abort?.abort(); this.dispatcher.settled(entry.method, 'FLYME_CONNECTION_CLOSED'); }
    this.inFlight.clear();
    this.notifications.clear();
    this.onClose(this);
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const fn of listeners) {
      try {
        fn();
      } catch {
        // A handler's close hook runs in the socket's 'close' event: a throw there would end the process.
      }
    }
  }
}

