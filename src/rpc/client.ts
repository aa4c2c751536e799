/**
 * The FlyMe client: many concurrent calls on one connection, typed errors, notifications as an
 * async iterator. Writes issued in the same tick are coalesced into one syscall.
 *
 * @example
 * import { connect } from 'flyme'
 * const client = await connect('unix:///run/flyme/flyme.sock')
 * const { message } = await client.call('ping', { message: 'hi' })
 * await client.close()
 */
import type { Duplex } from 'node:stream';
import { MAX_TIMER_MS } from '../duration.js';
import { FlyMeError, flymeError } from '../errors.js';
import { LineDecoder, DEFAULT_MAX_FRAME_BYTES } from '../wire/framing.js';
import { encodeRequest, encodeNotification, errorFromWire, parseFrame, parseText, type RpcMessage } from '../wire/jsonrpc.js';
import { dial, type DialOptions } from '../transport/dial.js';
import { parseAddress } from '../transport/address.js';
import type { TlsIdentityOptions } from './secure-dial.js';

export interface ClientOptions extends DialOptions, TlsIdentityOptions {
  /** Default per-call timeout (default 30 s). */
  callTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Max notifications buffered for an iterator that is not read (default 1000); extra ones are dropped. */
  maxQueuedNotifications?: number;
  /** Use an already-connected socket (e.g. a TLS socket) instead of dialing `url`. */
  socket?: Duplex;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface Notification {
  method: string;
  params: unknown;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: FlyMeError): void;
  method: string;
  timeoutMs: number;
  /** performance.now() by which the answer must have come. */
  deadline: number;
}

/** setTimeout's own rule for a delay: a number (as `delay * 1`); above MAX_TIMER_MS, below 1 ms or NaN, it is 1 ms. */
const callDelay = (delay: number) => {
  const ms = Number(delay);
  return ms >= 1 && ms <= MAX_TIMER_MS ? ms : 1;
};

const serverClosed = (): FlyMeError => flymeError('FLYME_CONNECTION_CLOSED', 'the server closed the connection');

export class Client {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /**
   * One timer for every pending call, armed for the earliest deadline (a timer per call cost a list of Node's
   * timers made and dropped on every sequential call). A call answered before it fires leaves it armed: when it
   * fires it rejects the calls past their deadline and re-arms for the next one, or stops when none is pending.
   * (So with a socket the caller unref'd, the process may stay up until that deadline after the last answer,
   * unless the client is closed; a socket FlyMe dialed is ref'd and keeps the process up anyway.)
   * The TLS server's DeadlineSweep (identity/tls/deadlines.ts) avoids a timer per handshake on a periodic sweep
   * instead, firing up to a period late; a call's timeout here fires at its deadline, as it did with its own timer.
   */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Infinity;
  /**
   * Why the connection ended: the error, or (for the usual end, the server closing) a function building it
   * on first use: a normal close then builds no error (message, stack) when nothing is waiting on it.
   */
  private ended: FlyMeError | (() => FlyMeError) | undefined;
  private outbox: string[] = [];
  private flushScheduled = false;
  private readonly notifications: Notification[] = [];
  private waiters: Array<(n: IteratorResult<Notification>) => void> = [];
  private readonly callTimeoutMs: number;
  private readonly maxQueued: number;

  constructor(private readonly socket: Duplex, options: ClientOptions = {}) {
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.maxQueued = options.maxQueuedNotifications ?? 1000;
    const decoder = new LineDecoder(
      {
        line: (f) => this.onLine(f),
        lineText: (text) => { if (text.length > 0) this.onMessage(parseText(text)); },
        overflow: () => this.shutdown(flymeError('FLYME_FRAME_TOO_LARGE', 'the server sent a frame over the size limit')),
      },
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    );
    socket.on('data', (c: Buffer) => decoder.push(c));
    socket.on('error', (err: Error) => this.shutdown(flymeError('FLYME_CONNECTION_CLOSED', `connection error: ${err.message}`)));
    socket.on('close', () => this.shutdown(serverClosed));
  }

  /** Call a method and wait for its result. Rejects with a FlyMeError. */
  call<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    if (this.ended) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.callTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let line: string;
      try {
        line = encodeRequest(id, method, params);
      } catch (e) {
        // Params JSON cannot carry (a BigInt, a cycle): refused here, nothing left pending.
        reject(flymeError('FLYME_INVALID_PARAMS', `${method}: params cannot be sent as JSON: ${(e as Error).message}`));
        return;
      }
      const deadline = performance.now() + callDelay(timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method, timeoutMs, deadline });
      if (deadline < this.deadlineAt) this.armDeadline(deadline);
      this.send(line);
    });
  }

  private armDeadline(at: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
  }

  /** Rejects the calls past their deadline; re-arms for the earliest one left. */
  private expire(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id);
        p.reject(flymeError('FLYME_TIMEOUT', `${p.method}: no answer within ${p.timeoutMs} ms (daemon not answering)`));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next !== Infinity) this.armDeadline(next);
  }

  /** Send a notification (no response). */
  notify(method: string, params?: Record<string, unknown>): void {
    if (!this.ended) this.send(encodeNotification(method, params));
  }

  /** Server-to-client notifications, in order, until the connection closes. */
  [Symbol.asyncIterator](): AsyncIterator<Notification> {
    return {
      next: () => {
        const n = this.notifications.shift();
        if (n) return Promise.resolve({ value: n, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** The reason the connection ended, once it has. */
  get closeReason(): FlyMeError | undefined {
    return this.closedError;
  }

  private get closedError(): FlyMeError | undefined {
    if (typeof this.ended === 'function') this.ended = this.ended();
    return this.ended;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private send(line: string): void {
    this.outbox.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const lines = this.outbox;
    this.outbox = [];
    if (this.socket.destroyed) return;
    this.socket.write(lines.length === 1 ? lines[0]! : lines.join(''));
  }

  private onLine(frame: Buffer): void {
    if (frame.length > 0) this.onMessage(parseFrame(frame));
  }

  private onMessage(msg: RpcMessage): void {
    if (msg.kind === 'response') {
      if (msg.id === null) {
        // A connection-level error (limit, frame, idle, unauthenticated): it ends the connection.
        if (msg.error) this.shutdown(errorFromWire(msg.error));
        return;
      }
      if (typeof msg.id !== 'number') return; // this client only sends small integer ids
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(errorFromWire(msg.error));
      else p.resolve(msg.result);
    } else if (msg.kind === 'notification') {
      const n = { method: msg.method, params: msg.params };
      const w = this.waiters.shift();
      if (w) w({ value: n, done: false });
      else if (this.notifications.length < this.maxQueued) this.notifications.push(n);
    }
  }

  private shutdown(err: FlyMeError | (() => FlyMeError)): void {
    if (this.ended) return;
    this.ended = err;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    for (const p of this.pending.values()) p.reject(this.closedError!);
    this.pending.clear();
    for (const w of this.waiters) w({ value: undefined, done: true });
    this.waiters = [];
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

/**
 * Connect to a FlyMe server at `url`: `unix:///path`, `unix://@name`, `tcp://host:port`, or with mutual TLS
 * `unix+tls:///path` / `tls://host:port` given an identity (`{ certs: dir }` or `{ x509Source }`).
 * @example const client = await connect('unix+tls:///run/flyme/flyme.sock', { certs: '/etc/flyme/certs' })
 */
export async function connect(url: string, options: ClientOptions = {}): Promise<Client> {
  let socket = options.socket;
  if (!socket && parseAddress(url).tls) {
    const { dialWithIdentity } = await import('./secure-dial.js');
    socket = await dialWithIdentity(url, options);
  }
  socket ??= await dial(url, options);
  return new Client(socket, options);
}
