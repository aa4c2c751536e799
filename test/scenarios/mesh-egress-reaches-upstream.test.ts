// Egress proxy, the way in: a plain local client connects to the proxy of service-a, which resolves
// service-b.example.org in a real registry, dials the record with mutual TLS as service-a and checks that the
// upstream presents the record's owner. Bytes flow both ways (a request larger than the socket buffers, then
// the answer after the client half-closed), and the upstream sees service-a's SPIFFE ID, not a proxy's.
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

test('egress proxy: a plain local client reaches service-b over mTLS as service-a, both ways', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-egress-a-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const regA = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcA });
  const regB = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcB });
  const b = await upstreamServer(certs, 'b', B);
  const events = eventLog();
  const proxy = await startEgressProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: 'service-b.example.org', registry: regA, source: srcA, onEvent: events.onEvent });
  try {
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: b.port });
    const big = 'x'.repeat(8 * 1024 * 1024);
    const r = await plainRequest(proxy.port, `hello ${big} bye`);
    assert.equal(r.text, `${B} sees ${A}: hello ${big} bye`);
    assert.equal(b.received(), `hello ${big} bye`.length);
    const ok = await events.next('accepted');
    assert.equal(ok.peerId, B);
    assert.equal(ok.sni, 'service-b.example.org');
    assert.equal(ok.target, `127.0.0.1:${b.port}`);
    // a second connection works as well (one proxy, many connections)
    assert.equal((await plainRequest(proxy.port, 'again')).text, `${B} sees ${A}: again`);
    assert.deepEqual(events.all.map((e) => e.kind), ['accepted', 'accepted']);
  } finally {
    await proxy.close();
    regA.close(); regB.close(); srcA.close(); srcB.close();
    await b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
