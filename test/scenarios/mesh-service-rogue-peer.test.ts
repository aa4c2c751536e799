// Attack: Connect must trust the registry's owner of the SNI, not whoever answers. A rogue workload of the same
// trust domain (a valid SVID, and even a DNS SAN service-b.example.org) that answers at the address, or that
// takes over the port service B's live record points to after B died, is refused with PERMISSION_DENIED
// (FLYME_ID_NOT_AUTHORIZED); the same Connect to the real B (control) returns B's SPIFFE ID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, startRegistry } from '../helpers/mesh.js';
import { endpointClient, startService, type ConnectReply } from '../helpers/mesh-service.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const ROGUE = 'spiffe://example.org/svc/rogue';

/** A TLS 1.3 server with the SVID DIR/<name>.pem that requires a client certificate, on 127.0.0.1:`port`. */
async function rogueServer(certs: string, name: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer({
    cert: readFileSync(join(certs, `${name}.pem`)), key: readFileSync(join(certs, `${name}.key.pem`)), ca: readFileSync(join(certs, 'root-ca.pem')),
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3',
  }, (s) => s.end());
  await new Promise<void>((r, j) => { server.once('error', j); server.listen(port, '127.0.0.1', () => r()); });
  return { server, port: (server.address() as { port: number }).port };
}

const refusedAsNotOwner = (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && /FLYME_ID_NOT_AUTHORIZED/.test(e.details) && e.details.includes(`not the owner of service-b.example.org (registry: ${B})`) && e.details.includes(ROGUE);

test('service: Connect refuses a peer that is not the registry\'s owner of the SNI; the real owner is accepted', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-rogue-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const r = await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', ROGUE, '--dns', 'service-b.example.org', '--out', join(certs, 'rogue')]);
  assert.equal(r.code, 0, r.stderr);
  const reg = await startRegistry(dir, ['--ttl', '60s'], false);
  const stops: Array<() => Promise<void> | void> = [() => reg.proc.stop()];
  try {
    const b = await startService(certs, 'b', 'service-b.example.org', reg);
    stops.unshift(() => b.proc.stop());
    const a = await startService(certs, 'a', 'service-a.example.org', reg);
    stops.unshift(() => a.proc.stop());
    const toA = await endpointClient(certs, 'a', a.target, A);
    stops.unshift(() => toA.close());
    const connect = (address: string) => toA.call<ConnectReply>('Connect', { address, sni: 'service-b.example.org' });

    // control: the real B
    assert.equal((await connect(b.target)).peer_spiffe_id, B);
    // attack 1: the caller is steered to a rogue address with the right SNI
    const rogue = await rogueServer(certs, 'rogue', 0);
    stops.unshift(() => new Promise<void>((res) => rogue.server.close(() => res())));
    await assert.rejects(connect(`127.0.0.1:${rogue.port}`), refusedAsNotOwner);
    // attack 2: B dies without deregistering; the rogue takes the port its live record points to
    b.proc.proc.kill('SIGKILL');
    await new Promise((res) => b.proc.proc.once('exit', res));
    const squatter = await rogueServer(certs, 'rogue', b.port);
    stops.unshift(() => new Promise<void>((res) => squatter.server.close(() => res())));
    await assert.rejects(connect(b.target), refusedAsNotOwner);
    // a name nobody registered: NOT_FOUND before anything is dialled
    await assert.rejects(toA.call('Connect', { address: b.target, sni: 'service-x.example.org' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /^FLYME_NOT_FOUND: no live registration for SNI service-x\.example\.org/.test(e.details));
    assert.match(a.proc.log(), /connect_refused/);
  } finally {
    for (const s of stops) await s();
    rmSync(dir, { recursive: true, force: true });
  }
});
