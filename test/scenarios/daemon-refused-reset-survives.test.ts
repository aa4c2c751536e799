// A peer that resets its connection while flymed writes it a refusal (here: the connection limit is full) must
// not crash the daemon: before the fix, an unhandled ECONNRESET on the refused socket killed the process.
// The control: once the idle connections go, a client is served again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { connect } from '../../src/rpc/client.js';
import { startDaemon } from '../helpers/daemon.js';

const freePort = () => new Promise<number>((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });

test('resets of refused connections (connection limit full) do not crash flymed; a client is served afterwards', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  const d = await startDaemon(['--listen', url, '--max-connections', '2']);
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) idle.push(await new Promise<Socket>((r) => { const s = tcpConnect(port, '127.0.0.1', () => r(s)); s.on('error', () => undefined); }));
    await new Promise((r) => setTimeout(r, 100));
    for (let round = 0; round < 300; round++) {
      await new Promise<void>((r) => {
        const s = tcpConnect(port, '127.0.0.1');
        s.on('error', () => r());
        s.on('close', () => r());
        s.on('connect', () => s.resetAndDestroy());
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.proc.exitCode, null, `flymed exited:\n${d.log().slice(-2000)}`);
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const c = await connect(url, { callTimeoutMs: 3000 });
    assert.equal((await c.call<{ transport: string }>('whoami')).transport, url, 'control: whoami answers');
    await c.close();
  } finally {
    for (const s of idle) s.destroy();
    await d.stop();
  }
});
