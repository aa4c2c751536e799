// A server's own hooks run inside socket events and promise callbacks; one that throws (say `p.peer!.uid` on a
// connection without kernel credentials) must cost that connection or that call, never the process: before the
// fix, a throwing assignRoles became an uncaught exception (plain listener) or an unhandled rejection (TLS
// listener), a throwing authorize hook an uncaught exception in the socket's 'data' handler, and a throwing
// close hook one in its 'close' handler. Control: the next client is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { Socket } from 'node:net';
import { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { Policy } from '../../../src/auth/policy/policy.js';

const builtin = Policy.builtin();
import type { SecureUpgrader } from '../../../src/transport/listener.js';
import { recordingLogger, rejectsWith, sleep, tempSocket } from './helpers.js';

/** A stand-in for mutual TLS: the connection is handed over from a promise, as the TLS upgrader does. */
const passThrough: SecureUpgrader = { upgrade: async (raw: Socket) => ({ socket: raw, resumed: false }) };

for (const kind of ['unix', 'unix+tls'] as const) {
  test(`${kind}: a throwing assignRoles drops that connection; the next one is served`, async () => {
    const sock = tempSocket();
    const url = kind === 'unix' ? sock.url : sock.url.replace('unix://', 'unix+tls://');
    let fail = true;
    const refused: string[] = [];
    const server = new RpcServer({
      policy: builtin,
      assignRoles: (p) => {
        if (fail) throw new TypeError('boom in assignRoles');
        builtin.assignRoles(p);
      },
      onRefused: (e) => { refused.push(e.code); },
    });
    server.method({ name: 'ping', permission: 'ping', params: Type.Object({}), handler: () => ({ ok: true }) });
    await server.listen(url, kind === 'unix+tls' ? { secure: passThrough } : {});
    try {
      const c = await connect(sock.url, { callTimeoutMs: 3000 });
      await rejectsWith(c.call('ping'), 'FLYME_CONNECTION_CLOSED');
      assert.deepEqual(refused, ['FLYME_INTERNAL']);
      fail = false;
      const ok = await connect(sock.url, { callTimeoutMs: 3000 });
      assert.deepEqual(await ok.call('ping'), { ok: true });
      await ok.close();
    } finally {
      await server.close(0);
      sock.cleanup();
    }
  });
}

test('a throwing authorize hook denies that call with FLYME_INTERNAL; the connection goes on', async () => {
  const sock = tempSocket();
  const { logger, errors } = recordingLogger();
  const server = new RpcServer({
    logger,
    authorize: (_p, _perm, method) => {
      if (method === 'boom') throw new TypeError('boom in authorize');
      return undefined;
    },
  });
  server.method({ name: 'boom', permission: 'boom', params: Type.Object({}), handler: () => ({ ran: true }) });
  server.method({ name: 'ping', permission: 'ping', params: Type.Object({}), handler: () => ({ ok: true }) });
  await server.listen(sock.url);
  const c = await connect(sock.url, { callTimeoutMs: 3000 });
  try {
    await rejectsWith(c.call('boom'), 'FLYME_INTERNAL');
    assert.match(JSON.stringify(errors), /boom in authorize/);
    assert.deepEqual(await c.call('ping'), { ok: true });
  } finally {
    await c.close();
    await server.close(0);
    sock.cleanup();
  }
});

test('a throwing close hook of a handler does not take the server down', async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: builtin });
  server.method({
    name: 'watch', permission: 'watch', params: Type.Object({}),
    handler: (_p, ctx) => { ctx.connection.onClose(() => { throw new TypeError('boom in onClose'); }); return { ok: true }; },
  });
  await server.listen(sock.url);
  try {
    const c = await connect(sock.url, { callTimeoutMs: 3000 });
    await c.call('watch');
    await c.close();
    await sleep(50);
    const next = await connect(sock.url, { callTimeoutMs: 3000 });
    assert.deepEqual(await next.call('watch'), { ok: true });
    await next.close();
  } finally {
    await server.close(0);
    sock.cleanup();
  }
});
