// One policy, one principal: a channel rule naming a role admits a signer whose SPIFFE ID the policy's
// bindings give that role (as flymed and flyme/grpc would), and only that signer. Control: without the
// binding the same message is refused as not-allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootCA, issueSvidWithKey, parseTrustBundle } from '../../../src/identity/index.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { EnvelopeVerifier, MessageRejected, sealEnvelope, signerFromPem } from '../../../src/redis/envelope.js';

const TD = 'flyme.local';

const policyText = (bound: string) => `roles:
  publisher: { methods: [ping] }
bindings:
  - { spiffeId: "${bound}", roles: [publisher] }
channels:
  - { channel: "orders.*", publish: [{ role: publisher }], subscribe: [{ role: publisher }] }
`;

test('channel role selectors see the roles the policy binds to the signer', async () => {
  const ca = await createRootCA({ trustDomain: TD, days: 2 });
  const bundle = parseTrustBundle(ca.certPem);
  const signer = async (id: string) => {
    const s = await issueSvidWithKey(ca, { spiffeId: id, days: 1 });
    return signerFromPem(id, s.chainPem, s.keyPem);
  };
  const orders = await signer(`spiffe://${TD}/orders`);
  const other = await signer(`spiffe://${TD}/other`);
  const policy = Policy.parse(policyText(`spiffe://${TD}/orders`), 'p.yaml');
  const verifier = new EnvelopeVerifier({ bundle: () => bundle, acl: () => policy.channels, rolesOf: (id) => policy.rolesOfSpiffeId(id) });
  const m = await verifier.open(await sealEnvelope(orders, 'orders.eu', 'hello'), 'orders.eu');
  assert.equal(m.from, `spiffe://${TD}/orders`);
  assert.deepEqual(m.roles, ['publisher']);
  await assert.rejects(verifier.open(await sealEnvelope(other, 'orders.eu', 'hello'), 'orders.eu'), (e: unknown) => e instanceof MessageRejected && e.reason === 'not-allowed');
  // Without the policy's roles (the old behaviour), the bound signer is refused too.
  const bare = new EnvelopeVerifier({ bundle: () => bundle, acl: () => policy.channels });
  await assert.rejects(bare.open(await sealEnvelope(orders, 'orders.eu', 'again'), 'orders.eu'), (e: unknown) => e instanceof MessageRejected && e.reason === 'not-allowed');
});
