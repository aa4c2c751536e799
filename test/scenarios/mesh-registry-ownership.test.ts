// `flyme registry serve`: only an owner (by the registry's policy, from the verified client certificate)
// may register, renew or deregister a name. Control: service-b registers service-b.example.org. Attacks:
// service-a registers service-b (the DNS hijack of the study), points its own name's SNI at service-b,
// renews and deregisters service-b's record; each is PERMISSION_DENIED and the record stays service-b's.
// Every change and refusal is in the registry's signed audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, startRegistry } from '../helpers/mesh.js';

const B = 'spiffe://example.org/svc/service-b';
const A = 'spiffe://example.org/svc/service-a';

test('registry: the owner registers its name; another identity is refused', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-own-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  try {
    // control: the owner
    const ok = await b.call<{ record: { owner: string; name: string; sni: string }; ttl_seconds: number }>('Register', { name: 'Service-B.example.org', address: '127.0.0.3', port: 9005, sni: '' });
    assert.equal(ok.record.owner, B);
    assert.equal(ok.record.name, 'service-b.example.org');
    assert.equal(ok.record.sni, 'service-b.example.org');
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9005 });

    // attacks: another identity on service-b's name, directly or through the SNI, renewing or removing it
    const denied = async (method: 'Register' | 'Renew' | 'Deregister', req: object, text: RegExp) => {
      await assert.rejects(a.call(method, req), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.PERMISSION_DENIED, `${method}: ${e.message}`);
        assert.match(e.details, text);
        return true;
      });
    };
    await denied('Register', { name: 'service-b.example.org', address: '127.0.0.2', port: 9005 }, /spiffe:\/\/example\.org\/svc\/service-a does not own service-b\.example\.org/);
    await denied('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9006, sni: 'service-b.example.org' }, /does not own service-b/);
    await denied('Renew', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 }, /does not own service-b/);
    await denied('Deregister', { name: 'service-b.example.org', address: '', port: 0 }, /does not own service-b/);
    await denied('Register', { name: 'db.example.org', address: '127.0.0.2', port: 5432 }, /does not own db\.example\.org/);

    // bad input gets a specific error, not a registration
    await assert.rejects(b.call('Register', { name: 'service-b.example.org', address: 'localhost', port: 9005 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /not an IPv4 or IPv6 address/.test(e.details));
    await assert.rejects(b.call('Register', { name: 'service-b.example.com', address: '127.0.0.3', port: 9005 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /not inside the registry's zone/.test(e.details));
    await assert.rejects(b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 0 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /port 0/.test(e.details));

    // the record is still service-b's, at service-b's address only
    const r = await a.call<{ records: Array<{ address: string; owner: string }> }>('Resolve', { name: 'service-b.example.org' });
    assert.deepEqual(r.records.map((x) => [x.address, x.owner]), [['127.0.0.3', B]]);
    // the owner may remove it
    assert.equal((await b.call<{ removed: number }>('Deregister', { name: 'service-b.example.org' })).removed, 1);
    await assert.rejects(a.call('Resolve', { name: 'service-b.example.org' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  } finally {
    a.close();
    b.close();
    await reg.proc.stop();
  }
  const log = readFileSync(join(dir, 'data', 'audit.log'), 'utf8');
  assert.match(log, /registration_changed.*service-b registered service-b\.example\.org/);
  assert.match(log, /registration_refused.*service-a does not own service-b\.example\.org/);
  const v = await runCli(['audit-log', 'verify', join(dir, 'data', 'audit.log')]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(v.code, 0, v.stdout + v.stderr);
});
