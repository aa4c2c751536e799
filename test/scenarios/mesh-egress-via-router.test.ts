// Egress proxy through a real `flyme router` (SNI passthrough): the proxy connects to the router instead of the
// record's address and the record's SNI selects the upstream. The proxy still checks the upstream's SPIFFE ID end
// to end (the router cannot): service-b works (control), and when service-b's record points at a rogue with
// another SPIFFE ID of the same trust domain, the router routes there but the proxy refuses it without a byte.
// The router carries a half-close: a request, then FIN, still gets its answer (it lost it before the fix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { startFlyme } from '../helpers/agent.js';
import { meshCerts, SERVER_ID, sleep, startRegistry } from '../helpers/mesh.js';
import { eventLog, plainRequest, upstreamServer } from '../helpers/egress.js';
import { certsDirSource } from '../../src/identity/source/files.js';
import { RegistryClient } from '../../src/mesh/registry-client.js';
import { startEgressProxy } from '../../src/mesh/egress.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const ROGUE = 'spiffe://example.org/svc/rogue';

test('egress proxy via the SNI router: reaches service-b; a rogue behind the route is still refused', { timeout: 120_000 }, async () => {
  const dir = tempDir('flyme-egress-c-');
  const certs = await meshCerts(dir, { a: A, b: B, rogue: ROGUE });
  const reg = await startRegistry(dir, [], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const regA = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcA });
  const regB = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcB });
  const b = await upstreamServer(certs, 'b', B, true);
  const rogue = await upstreamServer(certs, 'rogue', ROGUE, true);
  const router = await startFlyme(['--certs', certs, 'router', '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID, '--listen', '127.0.0.1:0'], 'flyme router ready');
  const ready = JSON.parse(router.log().split('\n').find((l) => l.includes('flyme router ready'))!) as { listen: string };
  const routerPort = Number(ready.listen.split(':').pop());
  const events = eventLog();
  const proxy = await startEgressProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: 'service-b.example.org', registry: regA, source: srcA,
    router: { host: '127.0.0.1', port: routerPort }, onEvent: events.onEvent,
  });
  /** Retries while the router's Watch and the proxy's ≤ 1 s resolve cache catch up with a registry change. */
  const settle = async (want: (bytes: number) => boolean, request: string) => {
    for (let i = 0; i < 100; i++) {
      const r = await plainRequest(proxy.port, `${request}\n`, '127.0.0.1', false);
      if (want(r.bytes)) return r;
      await sleep(100);
    }
    throw new Error(`the change never reached the proxy; events: ${JSON.stringify(events.all.slice(-3))}; router: ${router.log().slice(-1500)}`);
  };
  try {
    while (!router.log().includes('routes follow the registry')) await sleep(20);
    // control: through the router, end to end
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: b.port });
    const ok = await settle((n) => n > 0, 'hello');
    assert.equal(ok.text, `${B} sees ${A}: hello\n`);
    const accepted = await events.next('accepted');
    assert.equal(accepted.target, `127.0.0.1:${routerPort}`);
    assert.equal(accepted.peerId, B);
    const halfClosed = await plainRequest(proxy.port, 'request then FIN', '127.0.0.1', true);
    assert.equal(halfClosed.text, `${B} sees ${A}: request then FIN`);
    await events.next('accepted');

    // attack: service-b's record now points at the rogue; the router sends the SNI there
    await regB.deregister({ name: 'service-b.example.org' });
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: rogue.port });
    const refusedConn = await settle((n) => n === 0, 'secret');
    assert.equal(refusedConn.bytes, 0);
    const refused = await events.next('refused');
    assert.equal(refused.code, 'FLYME_ID_NOT_AUTHORIZED');
    assert.equal(refused.peerId, ROGUE);
    assert.equal(refused.target, `127.0.0.1:${routerPort}`);
    // TCP-level: the rogue's TLS 'secureConnection' can come after the proxy has already refused its certificate and hung up.
    assert.ok(rogue.tcpConnections() >= 1, 'the router did route to the rogue');
    assert.equal(rogue.received(), 0);
  } finally {
    await proxy.close();
    regA.close(); regB.close(); srcA.close(); srcB.close();
    await router.stop();
    await Promise.all([b.close(), rogue.close()]);
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
