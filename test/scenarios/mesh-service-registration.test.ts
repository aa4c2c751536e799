// `flyme service` registers itself: its record (its SNI, bind address and port, owner = its SPIFFE ID) is in
// Resolve and DNS, it stays there past several TTLs (--ttl 2s: it renews every ttl/3), and SIGTERM removes it
// at once (Watch reports DEREGISTERED, not EXPIRED) before the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { tempDir } from '../helpers/daemon.js';
import { decode, meshCerts, query, registryClient, sleep, startRegistry, udpQuery } from '../helpers/mesh.js';
import { startService } from '../helpers/mesh-service.js';

const B = 'spiffe://example.org/svc/service-b';

test('service: registers itself, renews past the TTL, deregisters on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-reg-');
  const certs = await meshCerts(dir, { b: B, watcher: 'spiffe://example.org/ops/watcher' });
  const reg = await startRegistry(dir, ['--ttl', '2s']);
  const w = await registryClient(certs, 'watcher', reg.target);
  const seen: string[] = [];
  const stream = w.watch({ name: 'service-b.example.org' });
  stream.on('data', (c) => seen.push(`${c.kind} ${c.record?.name ?? ''}`.trim()));
  stream.on('error', () => undefined);
  try {
    while (!seen.includes('SYNCED')) await sleep(20);
    const svc = await startService(certs, 'b', 'service-b.example.org', reg);
    assert.equal(svc.id, B);
    const resolve = () => w.call<{ records: Array<{ address: string; port: number; owner: string; sni: string }> }>('Resolve', { name: 'service-b.example.org' });
    const first = (await resolve()).records;
    assert.deepEqual(first.map((r) => ({ ...r, registered_at: undefined, expires_at: undefined })), [{ name: 'service-b.example.org', address: '127.0.0.1', port: svc.port, sni: 'service-b.example.org', owner: B, registered_at: undefined, expires_at: undefined }]);
    assert.equal(decode((await udpQuery(reg.dns!.port, query('service-b.example.org')))!).answers[0]?.data, '127.0.0.1');
    // three TTLs later the record is still there (renewed), and it never expired
    await sleep(6500);
    assert.equal((await resolve()).records.length, 1);
    assert.deepEqual(seen, ['SYNCED', 'REGISTERED service-b.example.org']);
    // SIGTERM: deregistered at once, exit 0
    svc.proc.proc.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => svc.proc.proc.once('exit', (c) => r(c)));
    assert.equal(code, 0, svc.proc.log());
    await assert.rejects(resolve(), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    while (seen.length < 3) await sleep(20);
    assert.deepEqual(seen, ['SYNCED', 'REGISTERED service-b.example.org', 'DEREGISTERED service-b.example.org']);
  } finally {
    stream.cancel();
    w.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
