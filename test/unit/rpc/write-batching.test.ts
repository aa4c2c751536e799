// Responses queued in one tick go out together (one socket write per burst): nothing may be lost or reordered
// by that. Pipelined sync and async calls followed by a half-close are all answered before the close; a sync
// result that cannot be serialised is FLYME_INTERNAL for that call only; the ASCII fast path of the line
// decoder hands over the same frames as the per-line path (non-ASCII lines, bad UTF-8, lines split across
// chunks, CRLF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { LineDecoder } from '../../../src/wire/framing.js';
import { sleep, tempSocket } from './helpers.js';

async function withServer(fn: (path: string) => Promise<void>): Promise<void> {
  const sock = tempSocket();
  const server = new RpcServer({ policy: Policy.builtin(), limits: { maxInFlight: 5000 } });
  server.method({ name: 'sync', params: Type.Object({ n: Type.Integer() }), permission: 'ping', handler: ({ n }) => ({ n }) });
  server.method({ name: 'slow', params: Type.Object({ n: Type.Integer() }), permission: 'ping', handler: async ({ n }) => { await sleep(n % 7); return { n }; } });
  server.method({ name: 'big', params: Type.Object({}), permission: 'ping', handler: () => ({ n: 10n }) });
  await server.listen(sock.url);
  try {
    await fn(sock.path);
  } finally {
    await server.close(200);
    sock.cleanup();
  }
}

/** Write `data` (in the given pieces), half-close, and collect every line until the server closes. */
async function exchange(path: string, pieces: Array<string | Buffer>): Promise<string[]> {
  const s: Socket = netConnect(path);
  await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
  let got = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => { got += d; });
  const closed = new Promise((res) => s.once('close', res));
  for (const p of pieces) { s.write(p); await sleep(5); }
  s.end();
  await closed;
  return got.split('\n').filter((l) => l !== '');
}

test('2000 pipelined sync and async calls then a half-close: every call answered once, then the close', async () => {
  await withServer(async (path) => {
    let batch = '';
    for (let i = 0; i < 2000; i++) batch += JSON.stringify({ jsonrpc: '2.0', id: i, method: i % 3 === 0 ? 'slow' : 'sync', params: { n: i } }) + '\n';
    const lines = await exchange(path, [batch]);
    assert.equal(lines.length, 2000);
    const ids = lines.map((l) => JSON.parse(l)).map((m: { id: number; result: { n: number } }) => { assert.equal(m.result.n, m.id); return m.id; });
    assert.equal(new Set(ids).size, 2000);
    const syncOrder = ids.filter((i) => i % 3 !== 0);
    assert.deepEqual(syncOrder, [...syncOrder].sort((a, b) => a - b), 'sync answers keep request order');
  });
});

test('a sync result that cannot be serialised fails that call with FLYME_INTERNAL; the next call is served', async () => {
  await withServer(async (path) => {
    const lines = await exchange(path, ['{"jsonrpc":"2.0","id":1,"method":"big","params":{}}\n{"jsonrpc":"2.0","id":2,"method":"sync","params":{"n":2}}\n']);
    const [a, b] = lines.map((l) => JSON.parse(l));
    assert.equal(a.id, 1);
    assert.equal(a.error.data.code, 'FLYME_INTERNAL');
    assert.deepEqual(b, { jsonrpc: '2.0', id: 2, result: { n: 2 } });
  });
});

test('frames mixing ASCII, UTF-8, bad UTF-8, CRLF and lines split across chunks are answered in order', async () => {
  await withServer(async (path) => {
    const req = (id: number | string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'sync', params: { n: 1 } });
    const split = req(4);
    const lines = await exchange(path, [
      `${req(1)}\n${req('é2')}\n`,
      Buffer.concat([Buffer.from(`${req(3)}\r\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x0a]), Buffer.from(split.slice(0, 10))]),
      `${split.slice(10)}\n${req(5)}\n`,
    ]);
    const msgs = lines.map((l) => JSON.parse(l));
    assert.deepEqual(msgs.map((m) => m.id), [1, 'é2', 3, null, 4, 5]);
    assert.equal(msgs[3].error.data.code, 'FLYME_INVALID_UTF8');
  });
});

test('the decoder gives the same frames with and without the ASCII fast path', () => {
  const chunks = [Buffer.from('a\nbb\r\n\nccc'), Buffer.from('c\nd'), Buffer.from('é\nf\n'), Buffer.from([0x67, 0xff, 0x0a, 0x68, 0x0a])];
  const run = (fast: boolean) => {
    const out: string[] = [];
    const d = new LineDecoder({ line: (f) => out.push(f.toString('latin1')), overflow: () => out.push('OVERFLOW'), ...(fast ? { lineText: (t: string) => out.push(t) } : {}) }, 16);
    for (const c of chunks) d.push(c);
    d.push(Buffer.from('x'.repeat(17) + '\n'));
    return out;
  };
  assert.deepEqual(run(true), run(false));
  assert.equal(run(true).at(-1), 'OVERFLOW');
});
