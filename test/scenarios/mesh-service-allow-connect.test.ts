// Connect dials with the service's own identity, so it is deny by default: with --allow-connect OPS only OPS
// may call it. Another workload of the trust domain (verified, Whoami works for it) gets PERMISSION_DENIED
// naming the rule, and so does the service's own ID once an explicit list replaces the default; OPS (control)
// gets B's SPIFFE ID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, startRegistry } from '../helpers/mesh.js';
import { endpointClient, startService, type ConnectReply } from '../helpers/mesh-service.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const OPS = 'spiffe://example.org/ops/prober';
const OTHER = 'spiffe://example.org/svc/service-c';

test('service: only --allow-connect IDs may call Connect; Whoami is open to the trust domain', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-allow-');
  const certs = await meshCerts(dir, { a: A, b: B, ops: OPS, other: OTHER });
  const reg = await startRegistry(dir, [], false);
  const stops: Array<() => Promise<void> | void> = [() => reg.proc.stop()];
  try {
    const b = await startService(certs, 'b', 'service-b.example.org', reg);
    stops.unshift(() => b.proc.stop());
    const a = await startService(certs, 'a', 'service-a.example.org', reg, ['--allow-connect', OPS]);
    stops.unshift(() => a.proc.stop());
    const req = { address: b.target, sni: 'service-b.example.org' };
    const as = async (name: string) => { const c = await endpointClient(certs, name, a.target, A); stops.unshift(() => c.close()); return c; };
    const ops = await as('ops');
    const other = await as('other');
    const self = await as('a');

    // control: the allowed caller
    assert.equal((await ops.call<ConnectReply>('Connect', req)).peer_spiffe_id, B);
    // attack: a verified workload that is not allowed (it is let in: Whoami answers it)
    assert.deepEqual(await other.call('Whoami', {}), { spiffe_id: OTHER, server_spiffe_id: A });
    const denied = (who: string) => (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED
      && e.details.includes(`${who} may not call Connect`) && e.details.includes(`--allow-connect IDs may (${OPS})`);
    await assert.rejects(other.call('Connect', req), denied(OTHER));
    await assert.rejects(self.call('Connect', req), denied(A));
    assert.match(a.proc.log(), /"event":"connect_refused","caller":"spiffe:\/\/example\.org\/svc\/service-c"/);
  } finally {
    for (const s of stops) await s();
    rmSync(dir, { recursive: true, force: true });
  }
});
