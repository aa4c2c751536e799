// Egress proxy, attack: service-b's registered address is served by a rogue with a valid SVID of the same trust
// domain but ANOTHER SPIFFE ID (spiffe://example.org/svc/rogue). The proxy must refuse it: the local client's
// connection is closed without a byte, the rogue never reads the client's data, and the event names the rogue's
// ID and the owner that was expected. Control: once the record points at the real service-b, the same proxy works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, SERVER_ID, startRegistry } from '../helpers/mesh.js';
import { eventLog, plainRequest, upstreamServer } from '../helpers/egress.js';
import { certsDirSource } from '../../src/identity/source/files.js';
import { RegistryClient } from '../../src/mesh/registry-client.js';
import { startEgressProxy } from '../../src/mesh/egress.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const ROGUE = 'spiffe://example.org/svc/rogue';

test('egress proxy: an upstream presenting another SPIFFE ID than the record owner is refused, no data', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-egress-b-');
  const certs = await meshCerts(dir, { a: A, b: B, rogue: ROGUE });
  const reg = await startRegistry(dir, [], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const regA = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcA });
  const regB = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcB });
  const b = await upstreamServer(certs, 'b', B);
  const rogue = await upstreamServer(certs, 'rogue', ROGUE);
  const events = eventLog();
  const proxy = await startEgressProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: 'service-b.example.org', registry: regA, source: srcA, onEvent: events.onEvent });
  try {
    // attack: the rogue sits at the address service-b's record names
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: rogue.port });
    const r = await plainRequest(proxy.port, 'secret request');
    assert.equal(r.bytes, 0, `the local client got data: ${r.text}`);
    const refused = await events.next('refused');
    assert.equal(refused.code, 'FLYME_ID_NOT_AUTHORIZED');
    assert.equal(refused.peerId, ROGUE);
    assert.equal(refused.expectedId, B);
    assert.match(refused.reason!, /spiffe:\/\/example\.org\/svc\/rogue/);
    assert.equal(rogue.tcpConnections(), 1, 'the proxy reached the rogue (its refusal above names the rogue, so the handshake happened)');
    assert.equal(rogue.received(), 0, 'the rogue read none of the client\'s bytes');

    // control: the record points at the real service-b
    await regB.deregister({ name: 'service-b.example.org' });
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: b.port });
    let ok = await plainRequest(proxy.port, 'hello');
    for (let i = 0; i < 40 && ok.bytes === 0; i++) { // the proxy may reuse the rogue's record for up to 1 s
      await new Promise((res) => setTimeout(res, 100));
      ok = await plainRequest(proxy.port, 'hello');
    }
    assert.equal(ok.text, `${B} sees ${A}: hello`);
    assert.equal((await events.next('accepted')).peerId, B);
    assert.equal(rogue.received(), 0);
  } finally {
    await proxy.close();
    regA.close(); regB.close(); srcA.close(); srcB.close();
    await Promise.all([b.close(), rogue.close()]);
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
