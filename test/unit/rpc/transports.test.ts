import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { connect } from '../../../src/rpc/client.js';
import { rejectsWith, recordingLogger } from './helpers.js';

function addWhoami(s: RpcServer): void {
  s.method({
    name: 'whoami',
    params: Type.Object({}),
    permission: 'whoami',
    handler: (_p, ctx) => ({ peer: ctx.principal.peer ?? null, roles: [...ctx.principal.roles], transport: ctx.principal.transport }),
  });
  s.method({ name: 'admin.op', params: Type.Object({}), permission: 'admin.op', handler: () => ({ ok: true }) });
}

test('tcp://127.0.0.1:0 listens on a real port; principal has no peer credentials', { timeout: 5000 }, async () => {
  const server = new RpcServer({ policy: Policy.builtin() });
  addWhoami(server);
  const url = await server.listen('tcp://127.0.0.1:0');
  const m = /^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
  assert.ok(m, `bound url ${url}`);
  assert.ok(Number(m[1]) > 0);
  assert.deepEqual(server.listenerAddresses, [url]);
  const c = await connect(url);
  try {
    const who = await c.call<{ peer: unknown; roles: string[]; transport: string }>('whoami');
    assert.equal(who.peer, null);
    assert.deepEqual(who.roles, []);
    assert.equal(who.transport, 'tcp://127.0.0.1:0');
    // No kernel creds → no default admin role → non-public methods are denied.
    const err = await rejectsWith(c.call('admin.op'), 'FLYME_PERMISSION_DENIED');
    assert.equal(err.data.permission, 'admin.op');
  } finally {
    await c.close();
    await server.close(200);
  }
});

test('unix://@abstract listener works and warns about missing file permissions', { skip: process.platform !== 'linux', timeout: 5000 }, async () => {
  const rec = recordingLogger();
  const server = new RpcServer({ policy: Policy.builtin(), logger: rec.logger });
  addWhoami(server);
  const url = await server.listen(`unix://@flyme-rpc-test-${process.pid}-${Date.now()}`);
  assert.ok(rec.warns.some((w) => /no file permissions/.test(w.msg ?? '')), JSON.stringify(rec.warns));
  const c = await connect(url);
  try {
    const who = await c.call<{ peer: { uid: number } | null; roles: string[] }>('whoami');
    assert.equal(who.peer?.uid, process.getuid!());
    assert.deepEqual(who.roles, ['admin']);
    assert.deepEqual(await c.call('admin.op'), { ok: true });
  } finally {
    await c.close();
    await server.close(200);
  }
});
