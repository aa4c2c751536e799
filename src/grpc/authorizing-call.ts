/**
 * The call object FlyMe's auth interceptor puts in grpc-js's interceptor chain. It is both the call (towards the
 * handler) and the listener (towards grpc-js): when the call's metadata arrives it asks `admit`, which either
 * refuses the call (sends its status on the next call) or lets it go on, and every other event and method is
 * passed to the next call or listener as it is.
 *
 * grpc-js's generic `ServerInterceptingCall` does the same with a responder, a listener wrapper and a closure
 * per step of every call (it supports asynchronous interceptors); admitting is synchronous, so one object per
 * call is enough. A call whose metadata was refused gets none of the request's messages or its half-close
 * (as with grpc-js's wrapper, which holds them back until metadata passes); a cancellation always goes through.
 */
import type * as grpc from '@grpc/grpc-js';

type NextCall = grpc.ServerInterceptingCallInterface;
type Listener = Parameters<NextCall['start']>[0];

/** Decides a call from its metadata: true lets it go on; false means `admit` already sent the refusal on `call`. */
export type Admit = (path: string, call: NextCall, metadata: grpc.Metadata) => boolean;

export class AuthorizingCall implements NextCall, Listener {
  #listener: Listener | undefined;
  #admitted = false;

  constructor(
    private readonly next: NextCall,
    private readonly path: string,
    private readonly admit: Admit,
  ) {}

  // Towards the handler: the call.
  start(listener: Listener): void {
    this.#listener = listener;
    this.next.start(this);
  }
  sendMetadata(metadata: grpc.Metadata): void {
    this.next.sendMetadata(metadata);
  }
  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }
  sendStatus(status: Parameters<NextCall['sendStatus']>[0]): void {
    this.next.sendStatus(status);
  }
  startRead(): void {
    this.next.startRead();
  }
  getPeer(): string {
    return this.next.getPeer();
  }
  getDeadline(): ReturnType<NextCall['getDeadline']> {
    return this.next.getDeadline();
  }
  getHost(): string {
    return this.next.getHost();
  }
  getAuthContext(): ReturnType<NextCall['getAuthContext']> {
    return this.next.getAuthContext();
  }
  getConnectionInfo(): ReturnType<NextCall['getConnectionInfo']> {
    return this.next.getConnectionInfo();
  }
  getMetricsRecorder(): ReturnType<NextCall['getMetricsRecorder']> {
    return this.next.getMetricsRecorder();
  }

  // Towards grpc-js: the listener.
  onReceiveMetadata(metadata: grpc.Metadata): void {
    if (!this.admit(this.path, this.next, metadata)) return;
    this.#admitted = true;
    this.#listener!.onReceiveMetadata(metadata);
  }
  onReceiveMessage(message: unknown): void {
    if (this.#admitted) this.#listener!.onReceiveMessage(message);
  }
  onReceiveHalfClose(): void {
    if (this.#admitted) this.#listener!.onReceiveHalfClose();
  }
  onCancel(): void {
    this.#listener?.onCancel();
  }
}

/**
 * Call methods a newer grpc-js may add to its interface: each method of grpc-js's own ServerInterceptingCall that
 * AuthorizingCall lacks is passed to the next call, so a grpc-js update cannot leave a method missing.
 */
export function forwardMissingMethods(reference: object): string[] {
  const added: string[] = [];
  const proto = AuthorizingCall.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(reference)) {
    if (name === 'constructor' || name in proto || typeof (reference as Record<string, unknown>)[name] !== 'function') continue;
    proto[name] = function (this: { next: Record<string, (...a: unknown[]) => unknown> }, ...args: unknown[]) {
      return this.next[name]!(...args);
    };
    added.push(name);
  }
  return added;
}
