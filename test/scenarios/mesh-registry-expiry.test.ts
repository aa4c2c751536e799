// Registrations expire unless renewed (--ttl 4s): a record that is not renewed disappears from Resolve, from
// DNS (UDP and TCP answer NXDOMAIN) and is reported EXPIRED to watchers; a renewed one (control) stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { tempDir } from '../helpers/daemon.js';
import { decode, meshCerts, query, registryClient, sleep, startRegistry, tcpQuery, udpQuery } from '../helpers/mesh.js';

test('registry: an expired registration leaves Resolve, Watch and DNS; a renewed one stays', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-exp-');
  const certs = await meshCerts(dir, { a: 'spiffe://example.org/svc/service-a', b: 'spiffe://example.org/svc/service-b' });
  const reg = await startRegistry(dir, ['--ttl', '4s']);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  const seen: string[] = [];
  const w = a.watch({});
  w.on('data', (c) => seen.push(`${c.kind} ${c.record?.name ?? ''}`.trim()));
  w.on('error', () => undefined);
  const port = reg.dns!.port;
  try {
    while (!seen.includes('SYNCED')) await sleep(20);
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9005 });
    const reply = await b.call<{ ttl_seconds: number; expires_at: number }>('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 });
    assert.equal(reply.ttl_seconds, 4);
    assert.equal(decode((await udpQuery(port, query('service-b.example.org')))!).answers[0]?.data, '127.0.0.3');
    // service-a renews (control); service-b does not
    for (let i = 0; i < 11; i++) {
      await sleep(500);
      await a.call('Renew', { name: 'service-a.example.org', address: '127.0.0.2', port: 9005 });
    }
    assert.equal(decode((await udpQuery(port, query('service-b.example.org')))!).rcode, 'NXDOMAIN');
    assert.equal(decode((await tcpQuery(port, query('service-b.example.org')))!).rcode, 'NXDOMAIN');
    await assert.rejects(a.call('Resolve', { name: 'service-b.example.org' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    await assert.rejects(b.call('Renew', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /register it again/.test(e.details));
    assert.equal(decode((await udpQuery(port, query('service-a.example.org')))!).answers[0]?.data, '127.0.0.2');
    assert.equal((await a.call<{ records: unknown[] }>('Resolve', { name: 'service-a.example.org' })).records.length, 1);
    assert.deepEqual(seen, ['SYNCED', 'REGISTERED service-a.example.org', 'REGISTERED service-b.example.org', 'EXPIRED service-b.example.org']);
  } finally {
    w.cancel();
    a.close();
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
