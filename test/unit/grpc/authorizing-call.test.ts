// AuthorizingCall: the one object per call that FlyMe's auth interceptor puts in grpc-js's chain. A refused call
// must reach the handler with nothing (no metadata, message or half-close: the handler never starts reading), an
// admitted one with everything in order (control), a cancellation always; and every method of grpc-js's own
// intercepting call must exist on it, methods a newer grpc-js adds included (they are passed to the next call).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { AuthorizingCall, forwardMissingMethods } from '../../../src/grpc/authorizing-call.js';
import '../../../src/grpc/server-auth.js'; // installs the forwarders for this grpc-js, as the server does

/** A stand-in for grpc-js's base call: delivers metadata on start, then a message and the half-close on reads. */
function baseCall(log: string[]) {
  let listener: { onReceiveMetadata(m: grpc.Metadata): void; onReceiveMessage(m: unknown): void; onReceiveHalfClose(): void; onCancel(): void } | undefined;
  let reads = 0;
  const call = {
    start(l: typeof listener) { listener = l; listener!.onReceiveMetadata(new grpc.Metadata()); },
    startRead() { log.push('read'); if (reads++ === 0) listener!.onReceiveMessage('m'); else listener!.onReceiveHalfClose(); },
    sendMetadata() { log.push('send-metadata'); },
    sendMessage(_m: unknown, cb: () => void) { log.push('send-message'); cb(); },
    sendStatus(s: { code: number }) { log.push(`status ${s.code}`); },
    getPeer: () => 'peer-1', getDeadline: () => Infinity, getHost: () => 'host',
    getAuthContext: () => ({}), getConnectionInfo: () => ({}), getMetricsRecorder: () => ({}),
    cancel() { listener!.onCancel(); },
    message() { listener!.onReceiveMessage('late'); listener!.onReceiveHalfClose(); },
  };
  return call;
}

/** What grpc-js's unary handler does with its call (server.ts handleUnary), logging what it receives. */
function handler(call: AuthorizingCall, log: string[]) {
  call.start({
    onReceiveMetadata: () => { log.push('handler metadata'); call.startRead(); },
    onReceiveMessage: (m) => { log.push(`handler message ${String(m)}`); call.startRead(); },
    onReceiveHalfClose: () => { log.push('handler half-close'); call.sendMessage('r', () => call.sendStatus({ code: grpc.status.OK, details: 'OK' })); },
    onCancel: () => log.push('handler cancel'),
  });
}

describe('AuthorizingCall', () => {
  it('an admitted call reaches the handler in order (control); a refused one reaches it with nothing but a cancellation', () => {
    const ok: string[] = [];
    const okBase = baseCall(ok);
    handler(new AuthorizingCall(okBase as never, '/p.S/M', (path, next) => { ok.push(`admit ${path} ${next.getPeer()}`); return true; }), ok);
    assert.deepEqual(ok, ['admit /p.S/M peer-1', 'handler metadata', 'read', 'handler message m', 'read', 'handler half-close', 'send-message', 'status 0']);

    const no: string[] = [];
    const noBase = baseCall(no);
    handler(new AuthorizingCall(noBase as never, '/p.S/M', (_p, next) => { next.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: 'no' }); return false; }), no);
    noBase.message(); // the peer goes on sending anyway
    noBase.cancel();
    assert.deepEqual(no, ['status 7', 'handler cancel']);
  });

  it("has every method of grpc-js's ServerInterceptingCall, and passes methods it lacks to the next call", () => {
    for (const name of Object.getOwnPropertyNames(grpc.ServerInterceptingCall.prototype)) {
      assert.equal(typeof (AuthorizingCall.prototype as unknown as Record<string, unknown>)[name], 'function', name);
    }
    class NewerGrpcCall { getNewThing(): string { return 'x'; } start(): void {} }
    assert.deepEqual(forwardMissingMethods(NewerGrpcCall.prototype), ['getNewThing']);
    const next = { getNewThing: (a: number) => `next got ${a}` };
    const c = new AuthorizingCall(next as never, '/p.S/M', () => true) as unknown as { getNewThing(a: number): string };
    assert.equal(c.getNewThing(7), 'next got 7');
  });
});
