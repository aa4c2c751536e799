import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { connect } from '../../../src/rpc/client.js';
import { rejectsWith, sleep, tempSocket } from './helpers.js';

/** Fail instead of hanging when server.close() does not finish (so cleanup still runs). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); }),
  ]);
}

test('graceful close: an in-flight call completes, then the socket is gone', { timeout: 6000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin() });
  server.method({ name: 'work', params: Type.Object({}), permission: 'work', handler: async () => { await sleep(300); return { done: true }; } });
  const url = await server.listen(sock.url);
  const c = await connect(url);
  try {
    const call = c.call('work');
    await sleep(30); // the request is in flight
    const t0 = Date.now();
    const closing = server.close(2000);
    closing.catch(() => {});
    assert.deepEqual(await call, { done: true });
    await within(closing, 2500, 'server.close(2000)');
    const took = Date.now() - t0;
    assert.ok(took < 1800, `close took ${took} ms`);
    assert.equal(existsSync(sock.path), false, 'socket file removed');
    await rejectsWith(connect(url), 'FLYME_UNREACHABLE');
  } finally {
    await c.close();
    sock.cleanup();
  }
});

test('graceful close: requests arriving while draining get FLYME_SHUTTING_DOWN', { timeout: 6000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin() });
  server.method({ name: 'work', params: Type.Object({}), permission: 'work', handler: async () => { await sleep(300); return { done: true }; } });
  const url = await server.listen(sock.url);
  const c = await connect(url);
  try {
    const call = c.call('work');
    await sleep(30);
    const closing = server.close(2000);
    closing.catch(() => {});
    await sleep(50);
    await rejectsWith(c.call('work'), 'FLYME_SHUTTING_DOWN');
    assert.deepEqual(await call, { done: true });
    await within(closing, 2500, 'server.close(2000)');
  } finally {
    await c.close();
    sock.cleanup();
  }
});

test('close with 100 ms grace on a never-resolving handler finishes within ~1.5 s', { timeout: 6000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin() });
  let signal: AbortSignal | undefined;
  server.method({ name: 'hang', params: Type.Object({}), permission: 'hang', handler: (_p, ctx) => { signal = ctx.signal; return new Promise(() => {}); } });
  const url = await server.listen(sock.url);
  const c = await connect(url);
  try {
    const call = c.call('hang', {}, { timeoutMs: 5000 });
    call.catch(() => {});
    await sleep(30);
    const t0 = Date.now();
    await within(server.close(100), 1500, 'server.close(100)');
    const took = Date.now() - t0;
    assert.ok(took < 1500, `close took ${took} ms`);
    await rejectsWith(call, 'FLYME_CONNECTION_CLOSED');
    assert.equal(signal?.aborted, true, 'handler signal aborted when its connection closed');
    assert.equal(server.liveConnections.size, 0);
  } finally {
    await c.close();
    sock.cleanup();
  }
});
