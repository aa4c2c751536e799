// Egress proxy and record liveness: with no live record of the upstream the local connection is closed (event
// `failed`, FLYME_NOT_FOUND); a record registered with the registry's --ttl 2s works (control) and, not renewed,
// stops being used once it expired: the proxy never dials the upstream again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, SERVER_ID, sleep, startRegistry } from '../helpers/mesh.js';
import { eventLog, plainRequest, upstreamServer } from '../helpers/egress.js';
import { certsDirSource } from '../../src/identity/source/files.js';
import { RegistryClient } from '../../src/mesh/registry-client.js';
import { startEgressProxy } from '../../src/mesh/egress.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

test('egress proxy: no live record → closed; an expired record stops being used', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-egress-d-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, ['--ttl', '2s'], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const regA = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcA });
  const regB = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcB });
  const b = await upstreamServer(certs, 'b', B);
  const events = eventLog();
  const proxy = await startEgressProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: 'service-b.example.org', registry: regA, source: srcA, onEvent: events.onEvent });
  try {
    // nothing registered yet
    assert.equal((await plainRequest(proxy.port, 'hello')).bytes, 0);
    const none = await events.next('failed');
    assert.equal(none.code, 'FLYME_NOT_FOUND');
    assert.equal(none.target, undefined);
    assert.equal(b.connections(), 0);

    // control: a live record is used
    const { record } = await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: b.port });
    assert.equal((await plainRequest(proxy.port, 'hello')).text, `${B} sees ${A}: hello`);
    assert.equal(b.connections(), 1);

    // not renewed: once expired, the proxy does not use it any more
    while (Date.now() < record.expiresAt * 1000 + 100) await sleep(100);
    assert.equal((await plainRequest(proxy.port, 'late')).bytes, 0);
    assert.equal((await events.next('failed')).code, 'FLYME_NOT_FOUND');
    assert.equal(b.connections(), 1, 'the expired record was dialed');
  } finally {
    await proxy.close();
    regA.close(); regB.close(); srcA.close(); srcB.close();
    await b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
