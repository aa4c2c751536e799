/**
 * The client after the server closed its connection: the reason is FLYME_CONNECTION_CLOSED whether calls were
 * waiting (they are rejected with it) or not (it is built when first asked for), and every later call, the
 * notification iterator and `closeReason` agree on one error object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect } from '../../../src/rpc/client.js';
import { rejectsWith, tempSocket } from './helpers.js';

async function closingServer(): Promise<{ url: string; accepted: Promise<Socket>; stop(): Promise<void> }> {
  const sock = tempSocket();
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => { accept = r; });
  const server = createServer((s) => accept(s));
  server.listen(sock.path);
  await once(server, 'listening');
  return { url: sock.url, accepted, stop: async () => { server.close(); sock.cleanup(); } };
}

test('server closes with a call waiting: the call, later calls and closeReason get one FLYME_CONNECTION_CLOSED', async () => {
  const srv = await closingServer();
  try {
    const c = await connect(srv.url);
    const waiting = c.call('ping', {}, { timeoutMs: 5000 });
    const s = await srv.accepted;
    await once(s, 'data');
    s.destroy();
    const err = await rejectsWith(waiting, 'FLYME_CONNECTION_CLOSED');
    assert.equal(c.closed, true);
    assert.equal(c.closeReason, err);
    assert.equal(await c.call('ping').catch((e: unknown) => e), err);
  } finally {
    await srv.stop();
  }
});

test('server closes an idle connection: closeReason, calls and the notification iterator see the close', async () => {
  const srv = await closingServer();
  try {
    const c = await connect(srv.url);
    const s = await srv.accepted;
    s.destroy();
    const it = c[Symbol.asyncIterator]();
    while (!c.closed) await new Promise((r) => setTimeout(r, 5));
    const reason = c.closeReason;
    assert.equal(reason?.code, 'FLYME_CONNECTION_CLOSED');
    assert.equal(reason?.message, 'the server closed the connection');
    assert.equal(c.closeReason, reason, 'the same error object each time');
    const err = await rejectsWith(c.call('ping'), 'FLYME_CONNECTION_CLOSED');
    assert.equal(err, reason);
    c.notify('ignored'); // no throw, nothing sent
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  } finally {
    await srv.stop();
  }
});
