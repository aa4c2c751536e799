// A client without an SVID gets nothing from the registry: over TLS without a client certificate, Register,
// Resolve and Watch are UNAUTHENTICATED (attack); the same calls with an SVID succeed (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, startRegistry } from '../helpers/mesh.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');

test('registry: a client without an SVID is refused; with one it is served', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-nosvid-');
  const certs = await meshCerts(dir, { b: 'spiffe://example.org/svc/service-b' });
  const reg = await startRegistry(dir, [], false);
  const def = loadSync(join(root, 'proto/flyme/mesh/registry.proto'), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { flyme: { mesh: { v1: { Registry: grpc.ServiceClientConstructor } } } };
  const creds = grpc.credentials.createSsl(readFileSync(join(certs, 'root-ca.pem')), null, null, { checkServerIdentity: () => undefined });
  const anon = new pkg.flyme.mesh.v1.Registry(reg.target, creds) as unknown as Record<string, (req: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void> & { Watch(req: object): grpc.ClientReadableStream<unknown> };
  const b = await registryClient(certs, 'b', reg.target);
  try {
    const anonCall = (method: string, req: object) => new Promise<grpc.ServiceError | null>((res) => anon[method]!.call(anon, req, { deadline: Date.now() + 10_000 }, (e) => res(e)));
    // control
    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 });
    assert.equal((await b.call<{ records: unknown[] }>('Resolve', { name: 'service-b.example.org' })).records.length, 1);
    // attack
    for (const [method, req] of [['Register', { name: 'service-b.example.org', address: '127.0.0.66', port: 9005 }], ['Resolve', { name: 'service-b.example.org' }], ['Deregister', { name: 'service-b.example.org' }]] as const) {
      const e = await anonCall(method, req);
      assert.equal(e?.code, grpc.status.UNAUTHENTICATED, `${method}: ${e?.message ?? 'succeeded'}`);
    }
    const watchErr = await new Promise<grpc.ServiceError | undefined>((res) => {
      const w = anon.Watch.call(anon, {});
      w.on('data', () => { w.cancel(); res(undefined); });
      w.on('error', (e: grpc.ServiceError) => res(e));
    });
    assert.equal(watchErr?.code, grpc.status.UNAUTHENTICATED);
    const r = await b.call<{ records: Array<{ address: string }> }>('Resolve', { name: 'service-b.example.org' });
    assert.deepEqual(r.records.map((x) => x.address), ['127.0.0.3']);
  } finally {
    (anon as unknown as grpc.Client).close();
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
