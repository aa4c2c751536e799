// Peers that die or reset at every stage of a connection must never take flymed down: before any byte, in the
// middle of the TLS handshake, over the connection limit, in the middle of a frame, with answers left unread,
// and while subscribed to alerts, on a unix:// listener, a unix+tls:// (mutual TLS) listener and a tls:// TCP
// listener. Attackers are separate processes killed with SIGKILL (the kernel closes their sockets, resetting
// those with unread data) and in-process TCP resets. Control: after every stage a long-lived client and fresh
// clients on each listener are served, and at the end flymed is alive and its log holds no crash report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Client } from '../../src/rpc/client.js';
import { runCli, startMtlsDaemon, tempDir, type MtlsDaemon } from '../helpers/daemon.js';
import { b64, captureClientHello, killedAttacker, tcpResets, type AttackSocket } from '../helpers/attackers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CRASH = /Unhandled|uncaught|^\s+at .+:\d+:\d+\)?$/im;

/** A fresh connection, retried while the attackers' connection slots are being freed. */
async function fresh(url: string, certs: string): Promise<Client> {
  for (let i = 0; ; i++) {
    let c: Client | undefined;
    try {
      c = await connect(url, { certs, callTimeoutMs: 5000, timeoutMs: 5000 });
      await c.call('ping', { message: 'fresh' });
      return c;
    } catch (err) {
      await c?.close();
      if (i >= 40) throw new Error(`${url}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
}

test('peers killed or reset at every stage do not crash flymed; clients are served throughout', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const certs = join(dir, 'certs');
  const init = await runCli(['certs', 'init', '--dir', certs]);
  assert.equal(init.code, 0, init.stderr);
  const plainSock = join(dir, 'plain.sock');
  const m: MtlsDaemon = await startMtlsDaemon(['--listen', `unix://${plainSock}`, '--listen', 'tls://127.0.0.1:0', '--max-connections', '8', '--admin-id', 'spiffe://flyme.local/client'], { dir, certs });
  const ready = JSON.parse(m.d.log().split('\n').find((l) => l.includes('flymed ready'))!) as { listeners: string[] };
  const tcpUrl = ready.listeners.find((u) => u.startsWith('tls://'))!;
  const port = Number(tcpUrl.split(':').pop());
  const plain = `unix://${plainSock}`;
  const hello = await captureClientHello(certs);
  const halfHello = hello.subarray(0, Math.floor(hello.length / 2));
  const control = await connect(plain, { callTimeoutMs: 5000 });
  const served = async (stage: string): Promise<void> => {
    assert.equal(m.d.proc.exitCode, null, `${stage}: flymed exited:\n${m.d.log().slice(-3000)}`);
    const pong = await control.call<{ message: string }>('ping', { message: stage })
      .catch((e: Error) => { throw new Error(`${stage}: the long-lived client lost flymed: ${e.message}\n${m.d.log().slice(-3000)}`); });
    assert.equal(pong.message, stage, `${stage}: the long-lived client is served`);
    for (const url of [plain, m.url, tcpUrl]) {
      const c = await fresh(url, certs).catch((e: Error) => { throw new Error(`${stage}: ${e.message}\n${m.d.log().slice(-4000)}`); });
      assert.equal((await c.call<{ message: string }>('ping', { message: stage })).message, stage, `${stage}: a new client on ${url} is served`);
      await c.close();
    }
  };
  const everywhere = (s: Omit<AttackSocket, 'path' | 'port'>, tlsListenersOnly = false): AttackSocket[] => [
    ...(tlsListenersOnly ? [] : [{ ...s, path: plainSock }]), { ...s, path: m.sock }, { ...s, port },
  ];
  const pings = (n: number, size: number) => b64(Array.from({ length: n }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"ping","params":{"message":"${'x'.repeat(size)}"}}\n`).join(''));
  try {
    await served('start');

    // 1. Before any byte: connections opened and dropped by a killed process, and TCP resets at connect.
    await killedAttacker({ sockets: everywhere({ count: 2 }) });
    await tcpResets(port, 20);
    await served('before any byte');

    // 2. In the TLS handshake: half a ClientHello; a whole one whose answer is never read (a kernel reset).
    await killedAttacker({ sockets: everywhere({ data: b64(halfHello), unread: true, count: 2 }) });
    await killedAttacker({ sockets: everywhere({ data: b64(hello), unread: true, count: 2 }) });
    await tcpResets(port, 10, halfHello);
    await tcpResets(port, 10, hello, 50);
    await served('mid-TLS-handshake');

    // 3. Over the connection limit: refusals written to peers that never read them, then reset.
    await killedAttacker({ sockets: everywhere({ data: b64(hello), unread: true, count: 8 }) });
    await tcpResets(port, 30, hello, 20);
    await served('over the connection limit');

    // 4. In the middle of a frame: half a JSON line, on plain and TLS connections.
    await killedAttacker({ sockets: [{ path: plainSock, data: b64('{"jsonrpc":"2.0","id":1,"method":"pi'), unread: true }, ...everywhere({ tls: true, data: b64('{"jsonrpc":"2.0","id":1,"met'), unread: true }, true)], certs });
    await served('mid-frame');

    // 5. Answers queued and never read: many pipelined requests, then the peer dies.
    await killedAttacker({ sockets: [{ path: plainSock, data: pings(3000, 1000), unread: true }, ...everywhere({ tls: true, data: pings(3000, 1000), unread: true }, true)], certs, settleMs: 500 });
    await served('unread answers');

    // 6. Subscribed to alerts and never reading; alerts (refused handshakes) are pushed to them, then they die.
    const subscribe = b64('{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{}}\n');
    const subscribers = killedAttacker({ sockets: [{ path: plainSock, data: subscribe, unread: true }, ...everywhere({ tls: true, data: subscribe, unread: true }, true)], certs, settleMs: 1000 });
    await sleep(400);
    await tcpResets(port, 30, halfHello);
    await subscribers;
    await tcpResets(port, 30, halfHello);
    await served('subscribed');

    await sleep(300);
    assert.equal(m.d.proc.exitCode, null, `flymed exited:\n${m.d.log().slice(-3000)}`);
    assert.doesNotMatch(m.d.log(), CRASH, 'flymed logged no crash');
    assert.match(m.d.log(), /TLS handshake failed: read ECONNRESET/, 'the attacks did reset connections in the handshake');
  } finally {
    await control.close();
    await m.d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
