// Peers that die or reset at every stage of a connection must not take down `flyme ca serve` (its mutual TLS
// port on TCP) or `flyme agent` (the Workload API Unix socket): before any byte, in the TLS handshake, over the
// per-address connection cap, in the middle of HTTP/2, and with gRPC streams open whose answers are never read.
// Attackers are separate processes killed with SIGKILL (kernel resets where answers were left unread) and
// in-process TCP resets. Control: after each stage the CA answers on its admin socket and on its TLS port, the
// agent hands this process its SVID, and neither logged a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { isRoot, runCli, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent, startFlyme } from '../helpers/agent.js';
import { b64, captureClientHello, killedAttacker, tcpResets, type AttackSocket } from '../helpers/attackers.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const CRASH = /Unhandled|uncaught|^\s+at .+:\d+:\d+\)?$/im;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const grpcHeaders = (path: string, extra: Record<string, string> = {}) => ({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
/** An empty gRPC message (5-byte frame header, no body). */
const EMPTY = b64(Buffer.alloc(5));

/** AttestAgent with a made-up join token over TLS without a client certificate: the status the CA answers with. */
function attestWithBogusToken(target: string, rootPem: Buffer): Promise<grpc.ServiceError | null> {
  const def = loadSync(join(root, 'proto/ca.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { flyme: { ca: { v1: { AgentCA: grpc.ServiceClientConstructor } } } };
  const c = new pkg.flyme.ca.v1.AgentCA(target, grpc.credentials.createSsl(rootPem, null, null, { checkServerIdentity: () => undefined }));
  return new Promise((res) => {
    (c as unknown as Record<string, (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>).AttestAgent!(
      { join_token: 'bogus', csr: Buffer.from([0x30, 0]) }, { deadline: Date.now() + 5000 }, (e) => { c.close(); res(e); });
  });
}

test('flyme ca serve survives peers killed or reset at every stage on its TLS port', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-ca-kill-');
  const admin = `unix://${join(dir, 'ca-admin.sock')}`;
  const ca = await startFlyme(['ca', 'serve', '--data-dir', join(dir, 'ca'), '--trust-domain', 'example.org', '--listen', 'tls://127.0.0.1:0', '--admin-socket', admin], 'flyme ca ready');
  try {
    const ready = ca.log().split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; listeners?: string[] }; } catch { return {}; } }).find((l) => l.msg === 'flyme ca ready');
    const target = ready!.listeners!.find((l) => l.startsWith('tls://'))!.slice('tls://'.length);
    const port = Number(target.split(':').pop());
    const rootPem = readFileSync(join(dir, 'ca', 'root-ca.pem'));
    const certs = join(dir, 'certs');
    assert.equal((await runCli(['certs', 'init', '--dir', certs])).code, 0);
    const hello = await captureClientHello(certs);
    const half = hello.subarray(0, hello.length >> 1);
    const served = async (stage: string): Promise<void> => {
      assert.equal(ca.proc.exitCode, null, `${stage}: the CA exited:\n${ca.log().slice(-3000)}`);
      const st = await runCli(['ca', 'status', '--ca-socket', admin]);
      assert.equal(st.code, 0, `${stage}: the admin socket answers: ${st.stderr}`);
      const e = await attestWithBogusToken(target, rootPem);
      assert.ok(e && [grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT].includes(e.code), `${stage}: the TLS port answers AttestAgent with a refusal, got ${e?.code} ${e?.details}`);
    };

    await served('start');
    await killedAttacker({ sockets: [{ port, count: 10 }] });
    await tcpResets(port, 20);
    await served('before any byte');

    await tcpResets(port, 20, half);
    await tcpResets(port, 20, hello, 50);
    await killedAttacker({ sockets: [{ port, data: b64(half), unread: true, count: 5 }, { port, data: b64(hello), unread: true, count: 5 }] });
    await served('mid-TLS-handshake');

    // Over the per-address cap (64): the refusals go to peers that never read them, then reset.
    await killedAttacker({ sockets: [{ port, data: b64(hello), unread: true, count: 70 }], settleMs: 500 });
    await served('over the connection cap');

    const tlsNoCert: AttackSocket = { port, tls: true, noClientCert: true, alpn: ['h2'], unread: true };
    await killedAttacker({
      certs: join(dir, 'ca'),
      sockets: [
        { ...tlsNoCert, data: b64('PRI * HTTP/2.0\r\n\r\nSM'), count: 3 },
        { ...tlsNoCert, h2: { headers: grpcHeaders('/flyme.ca.v1.AgentCA/SyncAgent'), body: EMPTY }, count: 3 },
        { ...tlsNoCert, h2: { headers: grpcHeaders('/flyme.ca.v1.AgentCA/AttestAgent'), body: b64(Buffer.from([0, 0, 0, 0, 4, 10, 2, 65, 65])) }, count: 3 },
        { ...tlsNoCert, h2: { headers: grpcHeaders('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo'), body: b64(Buffer.from([0, 0, 0, 0, 2, 58, 0])) }, count: 3 },
      ],
      settleMs: 500,
    });
    await served('mid-HTTP/2 and open calls');

    await sleep(200);
    assert.equal(ca.proc.exitCode, null, `the CA exited:\n${ca.log().slice(-3000)}`);
    assert.doesNotMatch(ca.log(), CRASH, 'the CA logged no crash');
  } finally {
    await ca.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flyme agent survives Workload API callers killed at every stage, streams open', { skip: !isRoot && 'needs root (the entry selects uid 0)', timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-agent-kill-');
  const agent = await startAgent(dir);
  const parent = 'spiffe://example.org/agent/local';
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/w1', parent, ['unix:uid:0']);
    const served = async (stage: string): Promise<void> => {
      assert.equal(agent.proc.exitCode, null, `${stage}: the agent exited:\n${agent.log().slice(-3000)}`);
      let f = await runCli(['spiffe', 'fetch', '--socket', agent.url]);
      for (let i = 0; i < 20 && f.code !== 0; i++) { await sleep(100); f = await runCli(['spiffe', 'fetch', '--socket', agent.url]); }
      assert.equal(f.code, 0, `${stage}: the agent hands out the SVID: ${f.stderr}`);
      assert.match(f.stdout, /spiffe:\/\/example\.org\/w1/);
    };
    await served('start');

    await killedAttacker({ sockets: [{ path: agent.sock, count: 10 }] });
    await killedAttacker({ sockets: [{ path: agent.sock, data: b64('PRI * HTTP/2.0\r\n\r\nSM'), unread: true, count: 5 }] });
    await served('before any byte and mid-HTTP/2');

    // Streams that are answered (the caller is entitled) but never read; an entry change then pushes to them
    // while, and after, their callers die.
    const header = { 'workload.spiffe.io': 'true' };
    const streams = killedAttacker({
      sockets: [
        { path: agent.sock, h2: { headers: grpcHeaders('/SpiffeWorkloadAPI/FetchX509SVID', header), body: EMPTY }, unread: true, count: 5 },
        { path: agent.sock, h2: { headers: grpcHeaders('/SpiffeWorkloadAPI/FetchX509Bundles', header), body: EMPTY }, unread: true, count: 3 },
        { path: agent.sock, h2: { headers: grpcHeaders('/SpiffeWorkloadAPI/FetchJWTSVID', header), body: b64(Buffer.from([0, 0, 0, 0, 3, 10, 1, 65])) }, unread: true, count: 3 },
      ],
      settleMs: 800,
    });
    await sleep(400);
    await createEntry(agent.caSocket, 'spiffe://example.org/w2', parent, ['unix:uid:0']);
    await streams;
    await createEntry(agent.caSocket, 'spiffe://example.org/w3', parent, ['unix:uid:0']);
    await served('streams open');

    await sleep(200);
    assert.equal(agent.proc.exitCode, null, `the agent exited:\n${agent.log().slice(-3000)}`);
    assert.doesNotMatch(agent.log(), CRASH, 'the agent logged no crash');
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
