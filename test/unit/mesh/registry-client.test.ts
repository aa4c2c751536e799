// RegistryClient against a real `flyme registry serve`: the owner registers, renews, resolves and deregisters
// its name; another identity's registration is FLYME_PERMISSION_DENIED; an unknown name is FLYME_NOT_FOUND; a
// registry presenting another SPIFFE ID than the one asked for is refused. dialTls sends the servername asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { tempDir } from '../../helpers/daemon.js';
import { meshCerts, startRegistry } from '../../helpers/mesh.js';
import { RegistryClient, registryTarget } from '../../../src/mesh/registry-client.js';
import { certsDirSource } from '../../../src/identity/source/files.js';
import { dialTls } from '../../../src/identity/tls/client.js';
import { authorizeId } from '../../../src/identity/authorizer.js';
import type { FlyMeError } from '../../../src/errors.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

test('registryTarget maps tls:// and unix+tls:// and refuses the rest', () => {
  assert.equal(registryTarget('tls://[::1]:9090'), '[::1]:9090');
  assert.equal(registryTarget('unix+tls:///run/reg.sock'), 'unix:///run/reg.sock');
  for (const bad of ['http://[::1]:9090', 'tls://', '127.0.0.1:9090']) {
    assert.throws(() => registryTarget(bad), (e: FlyMeError) => e.code === 'FLYME_INVALID_ADDRESS');
  }
});

test('RegistryClient: register, resolve, renew, deregister; refusals keep their codes', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-regclient-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const a = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: 'spiffe://example.org/flymed', source: srcA });
  const b = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: 'spiffe://example.org/flymed', source: srcB });
  const wrong = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: 'spiffe://example.org/not-the-registry', source: srcA, timeoutMs: 3000 });
  try {
    const r = await a.register({ name: 'service-a.example.org', address: '127.0.0.2', port: 9005 });
    assert.equal(r.record.owner, A);
    assert.equal(r.record.sni, 'service-a.example.org');
    assert.ok(r.ttlSeconds > 0 && r.record.expiresAt > r.record.registeredAt - 1);
    const seen = await b.resolveSni('service-a.example.org');
    assert.deepEqual(seen.map((x) => [x.address, x.port, x.owner]), [['127.0.0.2', 9005, A]]);
    await a.renew({ name: 'service-a.example.org', address: '127.0.0.2', port: 9005 });
    await assert.rejects(a.register({ name: 'service-b.example.org', address: '127.0.0.2', port: 9005 }), (e: FlyMeError) => e.code === 'FLYME_PERMISSION_DENIED' && /does not own service-b/.test(e.message));
    await assert.rejects(b.resolve('nobody.example.org'), (e: FlyMeError) => e.code === 'FLYME_NOT_FOUND');
    assert.deepEqual(await b.resolveSni('nobody.example.org'), []);
    await assert.rejects(wrong.resolve('service-a.example.org'), (e: FlyMeError) => e.code === 'FLYME_UNREACHABLE');
    assert.equal(await a.deregister({ name: 'service-a.example.org' }), 1);
    assert.deepEqual(await b.resolveSni('service-a.example.org'), []);
  } finally {
    a.close(); b.close(); wrong.close(); srcA.close(); srcB.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dialTls sends the servername asked for, also to an IP address', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-dial-sni-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const m = srcB.material();
  const server = createServer({ cert: m.svids[0]!.certPem, key: m.svids[0]!.keyPem, minVersion: 'TLSv1.3' }, (s: TLSSocket) => { s.end(`${s.servername || '-'}\n`); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const heard = async (servername?: string) => {
      const s = await dialTls(`tls://127.0.0.1:${port}`, { source: srcA, serverAuthorizer: authorizeId(B), ...(servername ? { servername } : {}) });
      let text = '';
      for await (const chunk of s) text += String(chunk);
      return text.trim();
    };
    assert.equal(await heard('service-b.example.org'), 'service-b.example.org');
    assert.equal(await heard(), '-');
  } finally {
    server.close(); srcA.close(); srcB.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
