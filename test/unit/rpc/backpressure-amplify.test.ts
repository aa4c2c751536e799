// Amplification by a peer that does not read: small pipelined requests with large answers must not pile up in
// the server's memory (the output queue is bounded at maxWriteBufferBytes, and a peer that lets answers of calls
// already in flight exceed 16× that is cut off), while a peer that reads gets every answer (the controls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { sleep, tempSocket } from './helpers.js';

const MAX_WRITE = 1024 * 1024;
const BIG = 'x'.repeat(100 * 1024);

/** Reads every line of `raw` until `n` answers or close; resolves with the ids answered and whether it closed. */
function readAnswers(raw: net.Socket, n: number): Promise<{ ids: Set<number>; closed: boolean }> {
  const ids = new Set<number>();
  let buf = '';
  return new Promise((resolve) => {
    raw.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { id: number; result?: unknown };
        buf = buf.slice(nl + 1);
        if (msg.result !== undefined) ids.add(msg.id);
        if (ids.size === n) resolve({ ids, closed: false });
      }
    });
    raw.on('close', () => resolve({ ids, closed: true }));
    raw.resume();
  });
}

async function peakWritable(server: RpcServer, ms: number): Promise<number> {
  let peak = 0;
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(5)) {
    for (const c of server.liveConnections) peak = Math.max(peak, c.conn.socket.writableLength);
  }
  return peak;
}

test('requests already read when the peer stops reading wait: 600 pipelined calls × 100 KB answers stay near the limit, then all arrive', { timeout: 15_000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { maxWriteBufferBytes: MAX_WRITE, maxInFlight: 1000 } });
  server.method({ name: 'ping', params: Type.Object({}), permission: 'ping', handler: () => ({ big: BIG }) });
  await server.listen(sock.url);
  const raw = net.connect({ path: sock.path });
  try {
    await once(raw, 'connect');
    raw.pause();
    const n = 600; // ~33 KB of requests: one read
    raw.write(Array.from({ length: n }, (_, i) => `{"jsonrpc":"2.0","id":${i + 1},"method":"ping","params":{}}\n`).join(''));
    const peak = await peakWritable(server, 1000);
    // Before, every request of the chunk was answered into the queue: 60 MB for this one write.
    assert.ok(peak <= 2 * MAX_WRITE, `queued answers peaked at ${peak} bytes (limit ${MAX_WRITE})`);
    assert.ok(server.stats.requestsServed < n / 2, `answered ${server.stats.requestsServed} of ${n} into a peer that does not read`);
    const { ids, closed } = await readAnswers(raw, n);
    assert.equal(closed, false);
    assert.equal(ids.size, n, 'control: once the peer reads, every held request is answered, in order of arrival');
  } finally {
    raw.destroy();
    await server.close(200);
    sock.cleanup();
  }
});

test('answers of calls in flight past 16× the limit cut the non-reading peer off; a reading peer is served meanwhile', { timeout: 15_000 }, async () => {
  const sock = tempSocket();
  const SMALL = 256 * 1024; // the hard cap is 16× this: 4 MiB
  const server = new RpcServer({ policy: Policy.builtin(), limits: { maxWriteBufferBytes: SMALL, maxInFlight: 64 } });
  const MB = 'y'.repeat(1024 * 1024);
  server.method({ name: 'ping', params: Type.Object({}), permission: 'ping', handler: async () => { await sleep(50); return { big: MB }; } });
  await server.listen(sock.url);
  const raw = net.connect({ path: sock.path });
  const reader = net.connect({ path: sock.path });
  try {
    await Promise.all([once(raw, 'connect'), once(reader, 'connect')]);
    raw.pause();
    raw.write(Array.from({ length: 64 }, (_, i) => `{"jsonrpc":"2.0","id":${i + 1},"method":"ping","params":{}}\n`).join(''));
    const cut = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    const peak = await peakWritable(server, 1500);
    assert.ok(peak <= 16 * SMALL + 2 * MB.length, `queued answers peaked at ${peak} bytes: 64 MB before the cap`);
    // The non-reading peer is closed by the server (its queue passed 4 MiB); close is seen once it reads.
    raw.resume();
    raw.on('data', () => undefined);
    await cut;
    // Control: a peer that reads gets 3 such answers pipelined (3 MB queued at once, under the cap) on the same server.
    reader.write(Array.from({ length: 3 }, (_, i) => `{"jsonrpc":"2.0","id":${i + 1},"method":"ping","params":{}}\n`).join(''));
    const { ids, closed } = await readAnswers(reader, 3);
    assert.equal(closed, false);
    assert.equal(ids.size, 3);
  } finally {
    raw.destroy();
    reader.destroy();
    await server.close(200);
    sock.cleanup();
  }
});
