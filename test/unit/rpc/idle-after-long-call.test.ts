// The idle timeout keeps working after an idle check that found a call in flight: a connection whose one long
// call outlived the idle period is still closed once it then stays idle (the old once-listener left it open
// for ever). Control: a connection that keeps calling is not closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { connect } from '../../../src/rpc/client.js';
import { sleep, tempSocket } from './helpers.js';

test('a connection idle after a call longer than the idle timeout is closed; a busy one is not', async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { idleTimeoutMs: 300, requestTimeoutMs: 5000 } });
  server.method({ name: 'slow', params: Type.Object({ ms: Type.Integer() }), permission: 'ping', handler: async ({ ms }) => { await sleep(ms); return {}; } });
  await server.listen(sock.url);
  try {
    const idle = await connect(sock.url);
    const busy = await connect(sock.url);
    let stop = false;
    const keepBusy = (async () => { while (!stop) await busy.call('slow', { ms: 100 }); })();
    await idle.call('slow', { ms: 500 }); // the idle check at 300 ms finds this call in flight
    for (let i = 0; i < 40 && !idle.closed; i++) await sleep(50);
    stop = true;
    await keepBusy;
    assert.equal(idle.closed, true, 'the idle connection was closed');
    assert.equal(idle.closeReason?.code, 'FLYME_TIMEOUT');
    assert.equal(busy.closed, false, 'the busy connection is still open');
    await busy.close();
  } finally {
    await server.close(200);
    sock.cleanup();
  }
});
