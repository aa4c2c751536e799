// RpcServer reports denials, privileged calls and refused connections to its SecurityEventSink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { flymeError } from '../../../src/errors.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { rejectsWith, sleep, tempSocket } from './helpers.js';

test('denied, privileged and refused are each reported once; an allowed ordinary call is not', async () => {
  const sock = tempSocket();
  const events: SecurityEvent[] = [];
  let role = 'none';
  const server = new RpcServer({
    events: { emit: (e) => events.push(e) },
    limits: { maxConnections: 1 },
    authorize: (_p, permission, method) => (permission === 'secret' && role !== 'admin'
      ? flymeError('FLYME_PERMISSION_DENIED', `no ${method}`, { permission }) : undefined),
  });
  server.method({ name: 'plain', permission: 'plain', params: Type.Object({}), handler: () => ({ ok: true }) });
  server.method({ name: 'secret', permission: 'secret', privileged: true, params: Type.Object({}), handler: () => ({ ok: true }) });
  await server.listen(sock.url);
  const c = await connect(sock.url);
  try {
    await c.call('plain');
    assert.equal(events.length, 0, 'an ordinary allowed call is not a security event');
    await rejectsWith(c.call('secret'), 'FLYME_PERMISSION_DENIED');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.kind, 'denied');
    assert.equal(events[0]!.subject, 'secret');
    assert.equal(events[0]!.reason, 'FLYME_PERMISSION_DENIED');
    assert.equal((events[0]!.principal as { peer: { uid: number } }).peer.uid, process.getuid!());
    role = 'admin';
    await c.call('secret');
    assert.equal(events.length, 2);
    assert.equal(events[1]!.kind, 'privileged_call');
    assert.equal(events[1]!.decision, 'allow');
    // A second connection is over maxConnections: refused and reported.
    await rejectsWith(connect(sock.url).then((c2) => c2.call('plain')), 'FLYME_TOO_MANY_CONNECTIONS');
    for (let i = 0; i < 50 && events.length < 3; i++) await sleep(10);
    assert.equal(events[2]!.kind, 'connection_refused');
    assert.equal(events[2]!.reason, 'FLYME_TOO_MANY_CONNECTIONS');
  } finally {
    await c.close();
    await server.close(100);
    sock.cleanup();
  }
});
