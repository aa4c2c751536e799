// `flyme registry serve`: Watch is open to every identity of the trust domain, so one identity may hold at
// most 8 Watch streams: a rogue opening 12 gets RESOURCE_EXHAUSTED past 8 (before, it could take all 256 and
// leave restarting routers with no routes). Control: another identity (a router) still watches and gets
// its snapshot; and the rogue gets a stream again once it releases one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, startRegistry } from '../helpers/mesh.js';

const ROGUE = 'spiffe://example.org/rogue';
const ROUTER = 'spiffe://example.org/router';

/** Opens a Watch; resolves 'synced' once SYNCED arrives, or the gRPC status code it ended with. */
function watchOutcome(stream: grpc.ClientReadableStream<{ kind: string }>): Promise<'synced' | number> {
  return new Promise((resolve) => {
    stream.on('data', (m: { kind: string }) => { if (m.kind === 'SYNCED') resolve('synced'); });
    stream.on('error', (e: grpc.ServiceError) => resolve(e.code));
  });
}

test('registry Watch: at most 8 streams per identity; another identity still watches', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-watch-');
  const certs = await meshCerts(dir, { rogue: ROGUE, router: ROUTER });
  const reg = await startRegistry(dir, [], false);
  const rogue = await registryClient(certs, 'rogue', reg.target);
  const router = await registryClient(certs, 'router', reg.target);
  const streams: Array<grpc.ClientReadableStream<{ kind: string }>> = [];
  try {
    const outcomes: Array<'synced' | number> = [];
    for (let i = 0; i < 12; i++) {
      const s = rogue.watch() as unknown as grpc.ClientReadableStream<{ kind: string }>;
      streams.push(s);
      outcomes.push(await watchOutcome(s));
    }
    assert.deepEqual(outcomes, [...Array<'synced'>(8).fill('synced'), ...Array<number>(4).fill(grpc.status.RESOURCE_EXHAUSTED)]);
    const routerStream = router.watch() as unknown as grpc.ClientReadableStream<{ kind: string }>;
    streams.push(routerStream);
    assert.equal(await watchOutcome(routerStream), 'synced', 'control: another identity watches');
    streams[0]!.cancel();
    await new Promise((r) => setTimeout(r, 300));
    const again = rogue.watch() as unknown as grpc.ClientReadableStream<{ kind: string }>;
    streams.push(again);
    assert.equal(await watchOutcome(again), 'synced', 'control: a released stream frees its place');
  } finally {
    for (const s of streams) { s.on('error', () => undefined); s.cancel(); }
    rogue.close();
    router.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
