// JwtSource over the Workload API: a JWT-SVID for an audience (reused while fresh), validated locally with the
// JWT bundle the agent streams; the wrong audience and a token signed by a key outside the bundle are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import { FlyMeError } from '../../src/errors.js';
import { StaticJwtSource, workloadJwtSource } from '../../src/spiffe/index.js';
import { isRoot, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent } from '../helpers/agent.js';

test('workloadJwtSource: fetch, reuse, validate; refusals with controls', { skip: !isRoot && 'needs root (entry for uid 0)', timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-jwt-');
  const agent = await startAgent(dir);
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/caller', 'spiffe://example.org/agent/local', ['unix:uid:0']);
    const jwt = await workloadJwtSource({ address: agent.url });
    try {
      const a = await jwt.fetchJwtSvid({ audience: ['billing'] });
      assert.equal(a.spiffeId, 'spiffe://example.org/caller');
      assert.equal((await jwt.fetchJwtSvid({ audience: ['billing'] })).token, a.token, 'a fresh JWT-SVID is reused');
      assert.equal((await jwt.validate(a.token, 'billing')).spiffeId, 'spiffe://example.org/caller');
      await assert.rejects(jwt.validate(a.token, 'payroll'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_TOKEN_WRONG_AUDIENCE');
      // A JWT-SVID for the same trust domain signed by a key the bundle does not hold.
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const forger = await StaticJwtSource.create({ spiffeId: 'spiffe://example.org/caller', privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey), kid: 'forged' });
      const forged = await forger.fetchJwtSvid({ audience: ['billing'] });
      assert.equal((await forger.validate(forged.token, 'billing')).spiffeId, 'spiffe://example.org/caller', 'control: it verifies with its own key');
      await assert.rejects(jwt.validate(forged.token, 'billing'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_TOKEN_INVALID' && e.data.reason === 'signature');
      forger.close();
    } finally {
      jwt.close();
    }
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
