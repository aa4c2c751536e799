import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { connect, type Client } from '../../../src/rpc/client.js';
import { FlyMeError, flymeError } from '../../../src/errors.js';
import { rejectsWith, recordingLogger, sleep, tempSocket } from './helpers.js';

/** Start a server on a fresh unix socket, run fn, always clean up (clients first, then server). */
async function withServer(
  opts: ConstructorParameters<typeof RpcServer>[0],
  setup: (s: RpcServer) => void,
  fn: (s: RpcServer, url: string, clients: Client[]) => Promise<void>,
): Promise<void> {
  const sock = tempSocket();
  // Servers here decide with flymed's builtin policy (uid 0 and the own uid are admins) unless a test says otherwise.
  const server = new RpcServer({ policy: Policy.builtin(), ...opts });
  setup(server);
  const url = await server.listen(sock.url);
  const clients: Client[] = [];
  try {
    await fn(server, url, clients);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close(200);
    sock.cleanup();
  }
}

test('500 concurrent calls on one connection resolve with the right results, out of order', async () => {
  await withServer({ limits: { maxInFlight: 1000 } }, (s) => {
    s.method({
      name: 'echo',
      params: Type.Object({ n: Type.Integer() }),
      permission: 'echo',
      handler: async ({ n }) => {
        await sleep(Math.floor(Math.random() * 30));
        return { n, double: n * 2 };
      },
    });
    s.method({ name: 'sync', params: Type.Object({ n: Type.Integer() }), permission: 'sync', handler: ({ n }) => ({ n }) });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const order: number[] = [];
    const calls = Array.from({ length: 500 }, (_, i) =>
      (i % 5 === 0 ? c.call<{ n: number }>('sync', { n: i }) : c.call<{ n: number; double: number }>('echo', { n: i })).then((r) => {
        order.push(i);
        return r;
      }),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      assert.equal(r.n, i);
      if (i % 5 !== 0) assert.equal((r as unknown as { double: number }).double, i * 2);
    });
    assert.equal(order.length, 500);
    // Random delays: completion order differs from issue order.
    assert.notDeepEqual(order, [...order].sort((a, b) => a - b));
  });
});

test('server request timeout: FLYME_TIMEOUT to the client and ctx.signal aborted', async () => {
  let signal: AbortSignal | undefined;
  await withServer({ limits: { requestTimeoutMs: 200 } }, (s) => {
    s.method({
      name: 'hang',
      params: Type.Object({}),
      permission: 'hang',
      handler: (_p, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const t0 = Date.now();
    const err = await rejectsWith(c.call('hang', {}, { timeoutMs: 5000 }), 'FLYME_TIMEOUT');
    const took = Date.now() - t0;
    assert.ok(took >= 180 && took < 1500, `timed out after ${took} ms`);
    assert.match(err.message, /timed out/);
    assert.ok(signal, 'handler ran');
    assert.equal(signal.aborted, true);
  });
});

test('client-side call timeout gives FLYME_TIMEOUT', async () => {
  await withServer({}, (s) => {
    s.method({ name: 'slow', params: Type.Object({}), permission: 'slow', handler: async () => { await sleep(500); return {}; } });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const t0 = Date.now();
    await rejectsWith(c.call('slow', {}, { timeoutMs: 100 }), 'FLYME_TIMEOUT');
    assert.ok(Date.now() - t0 < 400);
    // The connection is still usable; the late answer is dropped.
    await sleep(450);
    assert.deepEqual(await c.call('slow'), {});
  });
});

test('maxInFlight=2: the third concurrent call gets FLYME_TOO_MANY_REQUESTS', async () => {
  await withServer({ limits: { maxInFlight: 2 } }, (s) => {
    s.method({ name: 'slow', params: Type.Object({ i: Type.Integer() }), permission: 'slow', handler: async ({ i }) => { await sleep(150); return { i }; } });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const [a, b, third] = await Promise.allSettled([c.call('slow', { i: 1 }), c.call('slow', { i: 2 }), c.call('slow', { i: 3 })]);
    assert.deepEqual(a, { status: 'fulfilled', value: { i: 1 } });
    assert.deepEqual(b, { status: 'fulfilled', value: { i: 2 } });
    assert.equal(third.status, 'rejected');
    assert.ok(third.reason instanceof FlyMeError);
    assert.equal(third.reason.code, 'FLYME_TOO_MANY_REQUESTS');
    // After they finish, capacity is back.
    assert.deepEqual(await c.call('slow', { i: 4 }), { i: 4 });
  });
});

test('authorize hook: custom denial carries data.permission; default lets own uid call anything', async () => {
  const rec = recordingLogger();
  await withServer({
    logger: rec.logger,
    authorize: (_p, permission, method) =>
      permission === 'secret' ? flymeError('FLYME_PERMISSION_DENIED', `no ${method} for you`, { permission, method }) : undefined,
  }, (s) => {
    s.method({ name: 'secret.read', params: Type.Object({}), permission: 'secret', handler: () => ({ ok: true }) });
    s.method({ name: 'open', params: Type.Object({}), permission: 'open', handler: () => ({ ok: true }) });
  }, async (s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const err = await rejectsWith(c.call('secret.read'), 'FLYME_PERMISSION_DENIED');
    assert.equal(err.data.permission, 'secret');
    assert.equal(err.data.method, 'secret.read');
    assert.deepEqual(await c.call('open'), { ok: true });
    assert.equal(s.stats.denied, 1);
    assert.ok(rec.warns.some((w) => w.msg === 'call denied'));
  });
  // The builtin policy: the test process has the daemon's uid, so it is admin.
  await withServer({}, (s) => {
    s.method({ name: 'secret.read', params: Type.Object({}), permission: 'secret', handler: (_p, ctx) => ({ roles: [...ctx.principal.roles], uid: ctx.principal.peer?.uid }) });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const r = await c.call<{ roles: string[]; uid: number }>('secret.read');
    assert.deepEqual(r.roles, ['admin']);
    assert.equal(r.uid, process.getuid!());
  });
  // No policy at all (a library server's default): nobody holds a role; a non-public permission is denied, naming it.
  await withServer({ policy: undefined }, (s) => {
    s.method({ name: 'secret.read', params: Type.Object({}), permission: 'secret', handler: () => ({}) });
    s.method({ name: 'whoami', params: Type.Object({}), permission: 'whoami', handler: () => ({ ok: true }) });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const err = await rejectsWith(c.call('secret.read'), 'FLYME_PERMISSION_DENIED');
    assert.equal(err.data.permission, 'secret');
    assert.deepEqual(await c.call('whoami'), { ok: true });
  });
});

test('params validation: missing, wrong type, unknown field → FLYME_INVALID_PARAMS with data.field', async () => {
  let ran = 0;
  await withServer({}, (s) => {
    s.method({
      name: 'put',
      params: Type.Object({ name: Type.String(), count: Type.Integer() }, { additionalProperties: false }),
      permission: 'put',
      handler: ({ name, count }) => { ran++; return { name, count }; },
    });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const missing = await rejectsWith(c.call('put', { count: 1 }), 'FLYME_INVALID_PARAMS');
    assert.equal(missing.data.field, 'name');
    assert.match(missing.message, /params\.name/);
    const wrong = await rejectsWith(c.call('put', { name: 'x', count: 'three' }), 'FLYME_INVALID_PARAMS');
    assert.equal(wrong.data.field, 'count');
    const extra = await rejectsWith(c.call('put', { name: 'x', count: 1, evil: true }), 'FLYME_INVALID_PARAMS');
    assert.equal(extra.data.field, 'evil');
    const absent = await rejectsWith(c.call('put'), 'FLYME_INVALID_PARAMS');
    assert.equal(absent.data.field, 'name');
    assert.equal(ran, 0, 'handler never ran on bad params');
    assert.deepEqual(await c.call('put', { name: 'x', count: 2 }), { name: 'x', count: 2 });
    await rejectsWith(c.call('nope'), 'FLYME_METHOD_NOT_FOUND');
  });
});

test('handler errors: plain Error → FLYME_INTERNAL without leaking; FlyMeError passes through', async () => {
  const rec = recordingLogger();
  await withServer({ logger: rec.logger }, (s) => {
    s.method({ name: 'boom', params: Type.Object({}), permission: 'boom', handler: () => { throw new Error('secret-db-password=hunter2'); } });
    s.method({ name: 'boomAsync', params: Type.Object({}), permission: 'boom', handler: async () => { await sleep(1); throw new Error('secret-async-detail'); } });
    s.method({ name: 'find', params: Type.Object({}), permission: 'find', handler: () => { throw new FlyMeError('FLYME_NOT_FOUND', 'no such widget', { data: { id: 'w1' } }); } });
  }, async (_s, url, clients) => {
    const c = await connect(url);
    clients.push(c);
    const e1 = await rejectsWith(c.call('boom'), 'FLYME_INTERNAL');
    assert.doesNotMatch(e1.message, /hunter2|secret/);
    assert.doesNotMatch(JSON.stringify(e1.data), /hunter2|secret/);
    const e2 = await rejectsWith(c.call('boomAsync'), 'FLYME_INTERNAL');
    assert.doesNotMatch(e2.message, /secret/);
    const e3 = await rejectsWith(c.call('find'), 'FLYME_NOT_FOUND');
    assert.equal(e3.message, 'no such widget');
    assert.equal(e3.data.id, 'w1');
    // The detail goes to the server log only.
    assert.ok(rec.errors.some((e) => JSON.stringify(e.obj).includes('hunter2')));
  });
});

test('notifications arrive in order through the async iterator; close() ends it', async () => {
  await withServer({}, (s) => {
    s.method({
      name: 'alerts',
      params: Type.Object({}),
      permission: 'alerts',
      handler: (_p, ctx) => {
        for (let n = 1; n <= 3; n++) ctx.notify('alert', { n });
        return { sent: 3 };
      },
    });
  }, async (_s, url) => {
    const c = await connect(url);
    assert.deepEqual(await c.call('alerts'), { sent: 3 });
    const got: unknown[] = [];
    const done = (async () => {
      for await (const n of c) {
        got.push(n);
        if (got.length === 3) void c.close();
      }
    })();
    await Promise.race([done, sleep(3000).then(() => { throw new Error('iterator did not end after close()'); })]);
    assert.deepEqual(got, [1, 2, 3].map((n) => ({ method: 'alert', params: { n } })));
    assert.equal(c.closed, true);
  });
});

test('maxConnections=2: a third connection is refused with FLYME_TOO_MANY_CONNECTIONS', async () => {
  let refused = 0;
  await withServer({ limits: { maxConnections: 2 }, onRefused: () => { refused++; } }, (s) => {
    s.method({ name: 'ping', params: Type.Object({}), permission: 'ping', handler: () => ({ pong: true }) });
  }, async (s, url, clients) => {
    const a = await connect(url);
    clients.push(a);
    const b = await connect(url);
    clients.push(b);
    assert.deepEqual(await a.call('ping'), { pong: true });
    assert.deepEqual(await b.call('ping'), { pong: true });
    const c = await connect(url);
    clients.push(c);
    await rejectsWith(c.call('ping', {}, { timeoutMs: 2000 }), 'FLYME_TOO_MANY_CONNECTIONS');
    assert.equal(c.closeReason?.code, 'FLYME_TOO_MANY_CONNECTIONS');
    assert.equal(refused, 1);
    assert.equal(s.stats.refused, 1);
    assert.equal(s.liveConnections.size, 2);
    // A slot frees up when a client leaves.
    await a.close();
    await sleep(50);
    const d = await connect(url);
    clients.push(d);
    assert.deepEqual(await d.call('ping'), { pong: true });
  });
});
