import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { sleep, tempSocket } from './helpers.js';

const N = 20_000;
const MAX_WRITE = 64 * 1024;

test('a peer that does not read is paused; buffered output stays bounded; it gets every answer later', { timeout: 8000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { maxWriteBufferBytes: MAX_WRITE, maxInFlight: N } });
  server.method({ name: 'ping', params: Type.Object({}), permission: 'ping', handler: () => ({ pong: true, pad: 'x'.repeat(64) }) });
  await server.listen(sock.url);
  const raw = net.connect({ path: sock.path });
  try {
    await once(raw, 'connect');
    raw.pause();
    const lines: string[] = [];
    for (let i = 1; i <= N; i++) lines.push(`{"jsonrpc":"2.0","id":${i},"method":"ping","params":{}}\n`);
    raw.write(lines.join(''));

    let maxWritable = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1000) {
      const conn = [...server.liveConnections][0];
      if (conn) maxWritable = Math.max(maxWritable, conn.conn.socket.writableLength);
      await sleep(10);
    }
    const conn = [...server.liveConnections][0];
    assert.ok(conn, 'server has the connection');
    const s = conn.conn.socket as net.Socket;
    assert.equal(s.isPaused(), true, 'server stopped reading from the non-reading peer');
    assert.ok(server.stats.requestsServed < N, `server did not answer all ${N} requests into its buffer (served ${server.stats.requestsServed})`);
    // One 64 KiB read can hold ~1200 requests whose answers are queued before the pause takes effect.
    assert.ok(maxWritable <= MAX_WRITE + 256 * 1024, `writableLength peaked at ${maxWritable}`);

    // Now read everything.
    const seen = new Set<number>();
    let buf = '';
    const allIn = new Promise<void>((resolve, reject) => {
      raw.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const msg = JSON.parse(line) as { id: number; result?: { pong: boolean }; error?: unknown };
          if (msg.error || msg.result?.pong !== true) reject(new Error(`bad response ${line}`));
          seen.add(msg.id);
          if (seen.size === N) resolve();
        }
      });
      raw.on('close', () => reject(new Error(`closed after ${seen.size} responses`)));
    });
    raw.resume();
    await allIn;
    assert.equal(seen.size, N);
    assert.equal(server.stats.requestsServed, N);
  } finally {
    raw.destroy();
    await server.close(200);
    sock.cleanup();
  }
});
