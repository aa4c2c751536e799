// Endpoint/Connect: service A, called by an allowed caller (its own SPIFFE ID, the default), opens mutual TLS
// to service B with SNI service-b.example.org, directly and through a real `flyme router`, and returns B's
// verified SPIFFE ID, TLSv1.3 and a handshake RTT. Whoami on B, called with A's SVID, shows "B sees A".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { startFlyme } from '../helpers/agent.js';
import { meshCerts, SERVER_ID, sleep, startRegistry } from '../helpers/mesh.js';
import { endpointClient, startService, type ConnectReply } from '../helpers/mesh-service.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

test('service: Connect reaches B directly and through the router and reports its verified SPIFFE ID', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-connect-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const router = await startFlyme(['--certs', certs, 'router', '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID, '--listen', '127.0.0.1:0'], 'flyme router ready');
  const stops: Array<() => Promise<void> | void> = [() => router.stop(), () => reg.proc.stop()];
  try {
    const routerAt = (JSON.parse(router.log().split('\n').find((l) => l.includes('flyme router ready'))!) as { listen: string }).listen;
    const b = await startService(certs, 'b', 'service-b.example.org', reg);
    stops.unshift(() => b.proc.stop());
    const a = await startService(certs, 'a', 'service-a.example.org', reg, ['--router', routerAt]);
    stops.unshift(() => a.proc.stop());
    const toA = await endpointClient(certs, 'a', a.target, A);
    stops.unshift(() => toA.close());

    const direct = await toA.call<ConnectReply>('Connect', { address: b.target, sni: 'service-b.example.org' });
    assert.equal(direct.peer_spiffe_id, B);
    assert.equal(direct.tls_version, 'TLSv1.3');
    assert.ok(direct.rtt_micros > 0);
    assert.equal(direct.via_router, false);
    assert.equal(direct.dialed, b.target);

    // through the router (empty address); its routes follow the registry's Watch, so wait until B is routed
    let routed: ConnectReply | undefined;
    for (let i = 0; i < 100 && !routed; i++) {
      routed = await toA.call<ConnectReply>('Connect', { address: '', sni: 'service-b.example.org' }).catch(() => undefined);
      if (!routed) await sleep(50);
    }
    assert.ok(routed, a.proc.log());
    assert.equal(routed.peer_spiffe_id, B);
    assert.equal(routed.tls_version, 'TLSv1.3');
    assert.ok(routed.rtt_micros > 0);
    assert.equal(routed.via_router, true);
    assert.equal(routed.dialed, routerAt);

    // B sees A: B's Whoami, called with A's SVID
    const toB = await endpointClient(certs, 'a', b.target, B);
    stops.unshift(() => toB.close());
    assert.deepEqual(await toB.call('Whoami', {}), { spiffe_id: A, server_spiffe_id: B });
  } finally {
    for (const s of stops) await s();
    rmSync(dir, { recursive: true, force: true });
  }
});
