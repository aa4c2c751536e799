// FlyMe's gRPC servers reap connections grpc-js would keep forever: an HTTP/2 session a protocol error left
// half-dead (Node stops reading after its GOAWAY, so the peer's close is never seen) is closed by the idle
// timeout, and shutdown() returns within its grace even with such a connection still open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalServer } from '../../../src/grpc/index.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const DATA_ON_STREAM_0 = Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x78]); // a protocol error

async function withServer(idleMs: number, fn: (path: string, open: () => number, shutdown: (g: number) => Promise<void>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-h2-'));
  const s = createLocalServer({ methods: {}, serverOptions: { 'grpc.max_connection_idle_ms': idleMs } });
  await s.bind(`unix://${join(dir, 's.sock')}`);
  let stopped = false;
  try {
    await fn(join(dir, 's.sock'), () => s.peers.size, async (g) => { stopped = true; await s.shutdown(g); });
  } finally {
    if (!stopped) await s.shutdown(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

const send = (path: string, bytes: Buffer) => new Promise<Socket>((r) => { const c = connect(path, () => { c.write(bytes); r(c); }); c.on('error', () => undefined); });
const until = async (cond: () => boolean, ms: number) => { for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20)); return cond(); };

test('connections left half-dead by a protocol error are reaped once idle; clean closes go at once (control)', async () => {
  await withServer(400, async (path, open) => {
    for (let i = 0; i < 5; i++) (await send(path, Buffer.concat([PREFACE, SETTINGS]))).destroy();
    assert.ok(await until(() => open() === 0, 1000), 'control: clean connections are gone at once');
    for (let i = 0; i < 5; i++) {
      const c = await send(path, Buffer.concat([PREFACE, SETTINGS, DATA_ON_STREAM_0]));
      await new Promise((r) => setTimeout(r, 50));
      c.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(open() > 0, 'the broken sessions outlive their peers at first (what the idle timeout is for)');
    assert.ok(await until(() => open() === 0, 3000), `reaped: ${open()} left`);
  });
});

test('shutdown returns within its grace even with a half-dead connection open', async () => {
  await withServer(60_000, async (path, open, shutdown) => {
    const c = await send(path, Buffer.concat([PREFACE, SETTINGS, DATA_ON_STREAM_0]));
    await until(() => open() === 1, 1000);
    const t0 = Date.now();
    await shutdown(200);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    c.destroy();
  });
});
