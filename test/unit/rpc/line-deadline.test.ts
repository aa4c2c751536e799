// A line must end within the idle timeout of its first byte: a peer trickling one byte at a time (each byte
// counted as activity) held its connection slot forever. Controls: a peer sending whole requests, and one
// whose lines each arrive in two halves, stay connected well past the timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { sleep, tempSocket } from './helpers.js';

const IDLE_MS = 400;
const RUN_MS = 2000;

/** Writes `piece(i)` every 40 ms for RUN_MS; resolves with what came back and whether the server closed. */
async function drive(path: string, piece: (i: number) => string): Promise<{ closedAfterMs?: number; out: string }> {
  const s = net.connect({ path });
  await once(s, 'connect');
  let out = '';
  let closedAfterMs: number | undefined;
  const t0 = Date.now();
  s.on('data', (d: Buffer) => { out += d.toString(); });
  s.on('close', () => { closedAfterMs = Date.now() - t0; });
  s.on('error', () => undefined);
  for (let i = 0; Date.now() - t0 < RUN_MS && closedAfterMs === undefined; i++) {
    s.write(piece(i));
    await sleep(40);
  }
  s.destroy();
  return { ...(closedAfterMs !== undefined ? { closedAfterMs } : {}), out };
}

test('a line trickled byte by byte is cut at the idle timeout; whole and split lines are not', { timeout: 20_000 }, async () => {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { idleTimeoutMs: IDLE_MS, requestTimeoutMs: 5000 } });
  server.method({ name: 'ping', params: Type.Object({}), permission: 'ping', handler: () => ({ pong: true }) });
  await server.listen(sock.url);
  const req = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping","params":{}}\n`;
  try {
    const trickle = await drive(sock.path, () => ' ');
    assert.ok(trickle.closedAfterMs !== undefined && trickle.closedAfterMs < IDLE_MS + 600, `trickler closed after ${trickle.closedAfterMs} ms`);
    assert.match(trickle.out, /not completed within 400 ms.*FLYME_TIMEOUT/);

    const whole = await drive(sock.path, (i) => req(i + 1));
    assert.equal(whole.closedAfterMs, undefined, 'control: whole requests keep the connection');
    const split = await drive(sock.path, (i) => { const r = req(Math.floor(i / 2) + 1); return i % 2 === 0 ? r.slice(0, 20) : r.slice(20); });
    assert.equal(split.closedAfterMs, undefined, 'control: lines in two halves keep the connection');
    assert.ok((split.out.match(/"pong":true/g) ?? []).length >= 10, 'and are answered');
  } finally {
    await server.close(200);
    sock.cleanup();
  }
});
