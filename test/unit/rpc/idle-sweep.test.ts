// The idle timeout is kept by the server's sweep (no timer per socket): a quiet connection is closed with
// FLYME_TIMEOUT, while a subscriber (keepAlive) and a connection that keeps talking stay open across several
// idle periods; a subscriber that turns keepAlive off is then closed like any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { connect } from '../../../src/rpc/client.js';
import { sleep, tempSocket } from './helpers.js';

test('idle sweep: a quiet connection is closed, a subscriber and a talking one are not', async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { idleTimeoutMs: 200, requestTimeoutMs: 5000 } });
  server.method({ name: 'hold', params: Type.Object({ on: Type.Boolean() }), permission: 'ping', handler: ({ on }, ctx) => { ctx.connection.keepAlive(on); return {}; } });
  await server.listen(sock.url);
  try {
    const quiet = await connect(sock.url);
    const subscriber = await connect(sock.url);
    const talker = await connect(sock.url);
    await quiet.call('hold', { on: false });
    await subscriber.call('hold', { on: true });
    for (let i = 0; i < 40 && !quiet.closed; i++) { await talker.call('hold', { on: false }); await sleep(25); }
    assert.equal(quiet.closed, true, 'the quiet connection was closed');
    assert.equal(quiet.closeReason?.code, 'FLYME_TIMEOUT');
    for (let i = 0; i < 24; i++) { await talker.call('hold', { on: false }); await sleep(25); } // three more idle periods
    assert.equal(subscriber.closed, false, 'the subscriber (keepAlive) is still open');
    assert.equal(talker.closed, false, 'the connection that keeps calling is still open');
    await subscriber.call('hold', { on: false });
    for (let i = 0; i < 40 && !subscriber.closed; i++) await sleep(50);
    assert.equal(subscriber.closed, true, 'without keepAlive the subscriber is closed when idle');
    assert.equal(subscriber.closeReason?.code, 'FLYME_TIMEOUT');
    await talker.close();
  } finally {
    await server.close(200);
    sock.cleanup();
  }
});
