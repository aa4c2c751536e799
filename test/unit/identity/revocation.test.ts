// Revocation lists in a trust bundle: a CRL signed by the issuer revokes the listed SVID (and intermediates);
// a CRL with the issuer's name but another key revokes nothing; each refusal has a passing control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCrl, createIntermediateCA, createRootCA, issueSvidWithKey, TrustBundle, verifyChain, verifyPresented } from '../../../src/identity/index.js';
import type { FlyMeError } from '../../../src/errors.js';

const TD = 'revoke.test';
const revoked = (e: unknown) => (e as FlyMeError).code === 'FLYME_UNTRUSTED_CERTIFICATE' && (e as FlyMeError).data.reason === 'revoked';

test('a CRL of the intermediate revokes its leaf; other leaves still verify', async () => {
  const root = await createRootCA({ trustDomain: TD });
  const mid = await createIntermediateCA(root);
  const a = await issueSvidWithKey(mid, { spiffeId: `spiffe://${TD}/a` });
  const b = await issueSvidWithKey(mid, { spiffeId: `spiffe://${TD}/b` });
  const plain = TrustBundle.fromCertificates([root.cert]);
  await verifyChain(a.cert, [mid.cert], plain); // control, and a cached verdict for the plain bundle
  const bundle = plain.withCrls([await createCrl(mid, [a.cert.serialNumber])]);
  await assert.rejects(verifyChain(a.cert, [mid.cert], bundle), revoked);
  await assert.rejects(verifyPresented([a.cert, mid.cert].map((c) => new Uint8Array(c.rawData)), bundle), revoked);
  assert.equal((await verifyChain(b.cert, [mid.cert], bundle)).spiffeId.toString(), `spiffe://${TD}/b`);
  // The bundle without the CRL is another object with its own verdicts: still valid there.
  await verifyChain(a.cert, [mid.cert], plain);
});

test('a CRL of the root revokes an intermediate and everything below it', async () => {
  const root = await createRootCA({ trustDomain: TD });
  const mid = await createIntermediateCA(root);
  const leaf = await issueSvidWithKey(mid, { spiffeId: `spiffe://${TD}/x` });
  const bundle = TrustBundle.fromCertificates([root.cert], { crls: [new Uint8Array((await createCrl(root, [mid.cert.serialNumber])).rawData)] });
  await assert.rejects(verifyChain(leaf.cert, [mid.cert], bundle), revoked);
});

test('a forged CRL (issuer name matches, signature does not) revokes nothing', async () => {
  const root = await createRootCA({ trustDomain: TD });
  const mid = await createIntermediateCA(root);
  const impostor = await createIntermediateCA(root); // same subject name "FlyMe Intermediate CA", other key
  assert.equal(impostor.cert.subject, mid.cert.subject);
  const leaf = await issueSvidWithKey(mid, { spiffeId: `spiffe://${TD}/x` });
  const forged = TrustBundle.fromCertificates([root.cert], { crls: [await createCrl(impostor, [leaf.cert.serialNumber])] });
  assert.equal((await verifyChain(leaf.cert, [mid.cert], forged)).spiffeId.toString(), `spiffe://${TD}/x`);
  const genuine = forged.withCrls([await createCrl(mid, [leaf.cert.serialNumber])]);
  await assert.rejects(verifyChain(leaf.cert, [mid.cert], genuine), revoked);
});

test('garbage CRL bytes are refused when the bundle is built, never silently ignored', () => {
  assert.throws(() => TrustBundle.fromCertificates([], { crls: [new Uint8Array([1, 2, 3])] }), (e: FlyMeError) => e.code === 'FLYME_INVALID_CERTIFICATE');
});
