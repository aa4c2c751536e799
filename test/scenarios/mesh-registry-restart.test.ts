// The registry's state survives a restart: a live registration is answered again (gRPC and DNS) by the new
// process without re-registering, with its owner and expiry; the state file is 0600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/daemon.js';
import { decode, meshCerts, query, registryClient, startRegistry, udpQuery } from '../helpers/mesh.js';

test('registry: live records survive a restart', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-restart-');
  const certs = await meshCerts(dir, { a: 'spiffe://example.org/svc/service-a', b: 'spiffe://example.org/svc/service-b' });
  let reg = await startRegistry(dir, ['--ttl', '60s']);
  let a = await registryClient(certs, 'a', reg.target);
  let b = await registryClient(certs, 'b', reg.target);
  try {
    const first = await b.call<{ expires_at: number }>('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 });
    await reg.proc.stop();
    a.close();
    b.close();
    assert.equal(statSync(join(dir, 'data', 'state.json')).mode & 0o777, 0o600);

    reg = await startRegistry(dir, ['--ttl', '60s']);
    a = await registryClient(certs, 'a', reg.target);
    b = await registryClient(certs, 'b', reg.target);
    const r = await a.call<{ records: Array<{ address: string; owner: string; expires_at: number }> }>('Resolve', { name: 'service-b.example.org' });
    assert.deepEqual(r.records.map((x) => [x.address, x.owner, x.expires_at]), [['127.0.0.3', 'spiffe://example.org/svc/service-b', first.expires_at]]);
    assert.equal(decode((await udpQuery(reg.dns!.port, query('service-b.example.org')))!).answers[0]?.data, '127.0.0.3');
  } finally {
    a.close();
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
