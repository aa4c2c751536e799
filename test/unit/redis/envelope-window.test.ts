// The ±30 s freshness window of signed pub/sub envelopes (docs/redis.md), with an injected clock:
// signed 29 s (and 30 s) in the past or future is accepted, 31 s is refused as stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootCA, issueSvidWithKey, parseTrustBundle } from '../../../src/identity/index.js';
import { ChannelAcl } from '../../../src/auth/policy/index.js';
import { EnvelopeVerifier, MessageRejected, sealEnvelope, signerFromPem } from '../../../src/redis/envelope.js';

const TD = 'flyme.local';
const FROM = `spiffe://${TD}/orders`;

async function setup() {
  const ca = await createRootCA({ trustDomain: TD, days: 2 });
  const svid = await issueSvidWithKey(ca, { spiffeId: FROM, days: 1 });
  const signer = signerFromPem(FROM, svid.chainPem, svid.keyPem);
  const bundle = parseTrustBundle(ca.certPem);
  const acl = new ChannelAcl([{ channel: 'orders', publish: [{ spiffeId: FROM }], subscribe: [] }]);
  const T = Math.floor(Date.now() / 1000) * 1000; // the verifier's "now", on a whole second
  const verifier = new EnvelopeVerifier({ bundle: () => bundle, acl: () => acl, now: () => T });
  const sealedAt = (offsetS: number) => sealEnvelope(signer, 'orders', `sent at ${offsetS}`, { now: () => T + offsetS * 1000 });
  return { verifier, sealedAt };
}

test('signed 29 s or 30 s in the past or the future: accepted', async () => {
  const { verifier, sealedAt } = await setup();
  for (const offset of [-29, 29, -30, 30, 0]) {
    const m = await verifier.open(await sealedAt(offset), 'orders');
    assert.equal(m.payload, `sent at ${offset}`);
    assert.equal(m.from, FROM);
  }
});

test('signed 31 s in the past or the future: refused as stale', async () => {
  const { verifier, sealedAt } = await setup();
  for (const offset of [-31, 31, -3600, 3600]) {
    await assert.rejects(verifier.open(await sealedAt(offset), 'orders'), (e: unknown) => {
      assert.ok(e instanceof MessageRejected);
      assert.equal(e.reason, 'stale');
      assert.match(e.message, /the window is 30 s/);
      return true;
    }, `offset ${offset}`);
  }
});
