// The client's call deadlines share one timer (armed for the earliest deadline, re-armed when it fires). Against a
// stand-in server that answers only the calls it is told to: a short deadline set after a long one still fires on
// time, answered calls never time out, a call made after earlier ones were answered still times out, and close()
// leaves no timer behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { connect } from '../../../src/rpc/client.js';
import { rejectsWith, sleep, tempSocket } from './helpers.js';

/** A server that records each request and answers one only when `answer(id)` is called. */
async function standIn() {
  const sock = tempSocket();
  let peer: Socket | undefined;
  const seen: Array<{ id: number; method: string }> = [];
  const server = createServer((s) => {
    peer = s;
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, i)) as { id: number; method: string };
        buf = buf.slice(i + 1);
        seen.push({ id: m.id, method: m.method });
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock.path, r));
  return {
    url: sock.url, seen,
    answer: (id: number) => peer!.write(`${JSON.stringify({ jsonrpc: '2.0', id, result: { id } })}\n`),
    close: () => new Promise<void>((r) => { peer?.destroy(); server.close(() => { sock.cleanup(); r(); }); }),
  };
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a short deadline set after a long one fires on time; the long call keeps waiting and is answered', async () => {
  const s = await standIn();
  const c = await connect(s.url).catch(async (e: unknown) => { await s.close(); throw e; });
  try {
    const long = c.call<{ id: number }>('long', {}, { timeoutMs: 10_000 });
    const t0 = performance.now();
    await rejectsWith(c.call('short', {}, { timeoutMs: 100 }), 'FLYME_TIMEOUT');
    const took = performance.now() - t0;
    assert.ok(took >= 95 && took < 5000, `short call timed out after ${took} ms`);
    // Control: the long call is still pending, and its answer reaches it.
    s.answer(s.seen.find((x) => x.method === 'long')!.id);
    assert.deepEqual(await long, { id: s.seen.find((x) => x.method === 'long')!.id });
  } finally {
    await c.close();
    await s.close();
  }
});

test('answered calls never time out; a call made after them still does, with its own method and timeout', async () => {
  const s = await standIn();
  const c = await connect(s.url).catch(async (e: unknown) => { await s.close(); throw e; });
  try {
    const first = c.call<{ id: number }>('first', {}, { timeoutMs: 150 });
    await sleep(20);
    s.answer(s.seen[0]!.id);
    assert.deepEqual(await first, { id: s.seen[0]!.id });
    await sleep(300); // the shared timer, armed for the first call's deadline, has fired with nothing due
    const err = await rejectsWith(c.call('second', {}, { timeoutMs: 100 }), 'FLYME_TIMEOUT');
    assert.match(err.message, /^second: no answer within 100 ms/);
    // Many calls, half answered: only the unanswered half time out.
    const calls = Array.from({ length: 20 }, (_, i) => c.call<{ id: number }>(`m${i}`, {}, { timeoutMs: 200 + i }).then(() => 'ok', (e: { code?: string }) => e.code));
    await sleep(30);
    for (const x of s.seen.filter((x) => /^m\d+$/.test(x.method) && Number(x.method.slice(1)) % 2 === 0)) s.answer(x.id);
    const outcomes = await Promise.all(calls);
    assert.deepEqual(outcomes, Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'ok' : 'FLYME_TIMEOUT')));
  } finally {
    await c.close();
    await s.close();
  }
});

test('close() rejects pending calls and leaves no deadline timer behind', async () => {
  const s = await standIn();
  const before = timeouts();
  const c = await connect(s.url);
  const pending = c.call('never', {}, { timeoutMs: 60_000 });
  await sleep(20);
  assert.ok(timeouts() > before, 'a deadline timer while a call is pending');
  await c.close();
  await rejectsWith(pending, 'FLYME_CONNECTION_CLOSED');
  assert.equal(timeouts(), before, 'no timer left after close');
  await s.close();
});

test('params JSON cannot carry are refused with FLYME_INVALID_PARAMS, nothing pending; the next call works', async () => {
  const s = await standIn();
  const before = timeouts();
  const c = await connect(s.url).catch(async (e: unknown) => { await s.close(); throw e; });
  try {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const params of [{ n: 1n }, cyclic]) {
      const err = await rejectsWith(c.call('bad', params as Record<string, unknown>), 'FLYME_INVALID_PARAMS');
      assert.match(err.message, /^bad: params cannot be sent as JSON/);
    }
    assert.equal(timeouts(), before, 'no deadline armed for a call that was never sent');
    assert.equal(s.seen.length, 0, 'nothing was sent');
    // Control: a good call goes out and is answered.
    const ok = c.call<{ id: number }>('good', {});
    await sleep(20);
    s.answer(s.seen[0]!.id);
    assert.deepEqual(await ok, { id: s.seen[0]!.id });
  } finally {
    await c.close();
    await s.close();
  }
});
