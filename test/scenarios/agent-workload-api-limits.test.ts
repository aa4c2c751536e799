// The Workload API bounds what a caller can make the agent and the CA do: at most 16 audiences of 512 bytes
// (InvalidArgument beyond), at most 20 new JWT-SVIDs per uid per second (Unavailable, "rate limit exceeded";
// cached ones stay free), and audiences are compared as lists, so ["x\0y"] is not ["x","y"].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { FlyMeError } from '../../src/errors.js';
import { WorkloadApiClient } from '../../src/spiffe/index.js';
import { isRoot, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent } from '../helpers/agent.js';

const refusedWith = (grpcCode: string) => (e: unknown) => e instanceof FlyMeError && e.data.grpcCode === grpcCode;

test('FetchJWTSVID limits: audience size, per-uid mint rate, exact audience lists', { skip: !isRoot && 'needs root (entry for uid 0)', timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-lim-');
  const agent = await startAgent(dir);
  const c = new WorkloadApiClient(agent.url);
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/svc', 'spiffe://example.org/agent/local', ['unix:uid:0']);
    const [ok] = await c.fetchJwtSvids(['a']);
    assert.ok(ok, 'control: one short audience');
    await assert.rejects(c.fetchJwtSvids(Array.from({ length: 17 }, (_, i) => `aud${i}`)), refusedWith('INVALID_ARGUMENT'));
    await assert.rejects(c.fetchJwtSvids(['x'.repeat(513)]), refusedWith('INVALID_ARGUMENT'));
    assert.equal((await c.fetchJwtSvids(Array.from({ length: 16 }, (_, i) => `aud${i}`))).length, 1, 'control: 16 audiences');

    const joined = (await c.fetchJwtSvids(['x', 'y']))[0]!.token;
    const nul = (await c.fetchJwtSvids(['x\0y']))[0]!.token;
    assert.notEqual(nul, joined);
    assert.deepEqual(decodeJwt(nul).aud, 'x\0y');

    await new Promise((r) => setTimeout(r, 1100)); // a fresh second
    const results = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => c.fetchJwtSvids([`burst-${i}`])));
    const limited = results.filter((r) => r.status === 'rejected' && refusedWith('UNAVAILABLE')(r.reason));
    assert.ok(limited.length >= 15, `${limited.length} of 80 new JWT-SVIDs asked for at once were refused`);
    assert.match((limited[0] as PromiseRejectedResult).reason.message, /rate limit exceeded/);
    assert.equal((await c.fetchJwtSvids(['a']))[0]!.token, ok!.token, 'a cached JWT-SVID is still served');
  } finally {
    c.close();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
