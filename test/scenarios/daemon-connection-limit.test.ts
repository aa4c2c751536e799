// 200 connections against max 100: the extra ones get FLYME_TOO_MANY_CONNECTIONS, the first keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, RawPeer } from '../helpers/daemon.js';

test('connections over the limit are refused with an error; admitted ones keep working', async () => {
  const d = await startDaemon(['--max-connections', '100', '--max-connections-per-peer', '1000']); // one uid here: the global limit, not the per-uid one
  const peers: RawPeer[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const p = await RawPeer.open(d.socket);
      p.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: {} }) + '\n');
      assert.equal((await p.next()).id, i); // admitted and registered before the next one connects
      peers.push(p);
    }
    const extra: RawPeer[] = [];
    for (let i = 0; i < 100; i++) extra.push(await RawPeer.open(d.socket));
    for (const p of extra) {
      const e = await p.next();
      assert.equal(e.error.data.code, 'FLYME_TOO_MANY_CONNECTIONS');
      assert.equal(await p.waitClosed(), true);
    }
    for (const [i, p] of peers.entries()) {
      p.send(JSON.stringify({ jsonrpc: '2.0', id: 1000 + i, method: 'ping', params: {} }) + '\n');
      assert.equal((await p.next()).id, 1000 + i);
    }
  } finally {
    peers.forEach((p) => p.destroy());
    await d.stop();
  }
});
