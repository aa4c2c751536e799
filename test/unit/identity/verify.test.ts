import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  assertSvid, checkSvid, createIntermediateCA, createRootCA, describePeerCertificate, issueSvidWithKey, parseCertificates,
  parseSvid, parseTrustBundle, verifyChain, type SvidViolationCode,
} from '../../../src/identity/index.js';
import { asCA, badCert, rejectsWith, type BadCertKind } from './fixtures.js';

const leafCases: [BadCertKind, SvidViolationCode][] = [
  ['wrong-leaf-ca-true', 'leaf-is-ca'],
  ['wrong-leaf-two-uri-sans', 'uri-san-count'],
  ['wrong-leaf-empty-id', 'uri-san-count'],
  ['wrong-leaf-no-digital-signature', 'missing-digital-signature'],
  ['wrong-leaf-cert-sign', 'has-key-cert-sign'],
  ['wrong-leaf-crl-sign', 'has-crl-sign'],
  ['wrong-leaf-root-path-id', 'leaf-id-no-path'],
  ['wrong-leaf-bad-spiffe-id', 'invalid-spiffe-id'],
  ['wrong-leaf-server-auth-only', 'eku-incomplete'],
];

test('bad leaves: checkSvid names the rule, assertSvid and verifyChain refuse them', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  for (const [kind, code] of leafCases) {
    const { cert } = await badCert(ca, kind);
    assert.deepEqual(checkSvid(cert).map((v) => v.code), [code], kind);
    const e = await rejectsWith(() => assertSvid(cert), 'FLYME_INVALID_CERTIFICATE');
    assert.equal(e.data['rule'], code);
    await rejectsWith(() => verifyChain(cert, [], [ca.cert]), 'FLYME_INVALID_CERTIFICATE');
  }
});

test('intermediates without cA=true or keyCertSign cannot vouch for a leaf', async () => {
  const root = await createRootCA({ trustDomain: 'td' });
  for (const kind of ['wrong-intermediate-no-ca', 'wrong-intermediate-no-key-cert-sign'] as const) {
    const { cert, keys } = await badCert(root, kind);
    const leaf = await issueSvidWithKey(asCA(root, cert, keys), { spiffeId: 'spiffe://td/w' });
    const e = await rejectsWith(() => verifyChain(leaf.cert, [cert], [root.cert]), 'FLYME_UNTRUSTED_CERTIFICATE');
    assert.equal(e.data['reason'], 'intermediate-not-ca', kind);
  }
});

test('verifyChain refuses a leaf from another CA, and a root of another trust domain', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const evil = await createRootCA({ trustDomain: 'td' });
  const leaf = await issueSvidWithKey(evil, { spiffeId: 'spiffe://td/flymed' });
  const e = await rejectsWith(() => verifyChain(leaf.cert, [], [ca.cert]), 'FLYME_UNTRUSTED_CERTIFICATE');
  assert.equal(e.data['reason'], 'unknown-authority');
  const other = await createRootCA({ trustDomain: 'other' });
  const otherLeaf = await issueSvidWithKey(other, { spiffeId: 'spiffe://other/x' });
  const f = await rejectsWith(() => verifyChain(otherLeaf.cert, [], [ca.cert]), 'FLYME_UNTRUSTED_CERTIFICATE');
  assert.equal(f.data['reason'], 'no-roots-for-trust-domain');
  assert.equal((await verifyChain(otherLeaf.cert, [], [ca.cert, other.cert])).spiffeId.trustDomain, 'other');
});

test('verifyChain refuses expired and not-yet-valid certificates (injected clock and custom validity)', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const now = Date.now();
  const expired = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a', notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 3_600_000) });
  const e = await rejectsWith(() => verifyChain(expired.cert, [], [ca.cert]), 'FLYME_CERT_EXPIRED');
  assert.equal(e.data['reason'], 'expired');
  assert.match(e.message, /expired/);
  const future = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a', notBefore: new Date(now + 3_600_000), notAfter: new Date(now + 7_200_000) });
  const f = await rejectsWith(() => verifyChain(future.cert, [], [ca.cert]), 'FLYME_CERT_EXPIRED');
  assert.equal(f.data['reason'], 'not-yet-valid');
  assert.match(f.message, /not yet valid/);
  await verifyChain(future.cert, [], [ca.cert], { now: new Date(now + 5_000_000) });
  const ok = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a' });
  await rejectsWith(() => verifyChain(ok.cert, [], [ca.cert], { now: new Date(now + 2 * 86_400_000) }), 'FLYME_CERT_EXPIRED');
});

test('a leaf under an intermediate is capped at its notAfter and refused once past it', async () => {
  const root = await createRootCA({ trustDomain: 'td' });
  const now = Date.now();
  const mid = await createIntermediateCA(root, { notBefore: new Date(now - 7_200_000), notAfter: new Date(now + 60_000) });
  const leaf = await issueSvidWithKey(mid, { spiffeId: 'spiffe://td/a', notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 30_000) });
  const e = await rejectsWith(() => verifyChain(leaf.cert, [mid.cert], [root.cert], { now: new Date(now + 45_000) }), 'FLYME_CERT_EXPIRED');
  assert.equal(e.data['role'], 'leaf');
});

test('parseCertificates: PEM chain, DER, and clear errors for garbage, corrupt DER, keys and empty input', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a' });
  assert.equal(parseCertificates(leaf.certPem + ca.certPem).length, 2);
  assert.equal(parseCertificates(leaf.keyPem + leaf.certPem).length, 1, 'key and cert in one PEM');
  assert.equal(parseCertificates(new Uint8Array(leaf.cert.rawData))[0]!.serialNumber, leaf.cert.serialNumber);
  assert.equal(parseCertificates(Buffer.from(leaf.certPem)).length, 1);
  const notPem = await rejectsWith(() => parseCertificates('not-pem'), 'FLYME_INVALID_CERTIFICATE');
  assert.match(notPem.message, /no PEM certificate/);
  await rejectsWith(() => parseCertificates(''), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseCertificates(new Uint8Array([0x30, 0x03, 0x01, 0x02])), 'FLYME_INVALID_CERTIFICATE');
  const corrupt = leaf.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
  await rejectsWith(() => parseCertificates(corrupt), 'FLYME_INVALID_CERTIFICATE');
  const key = await rejectsWith(() => parseCertificates(leaf.keyPem), 'FLYME_INVALID_CERTIFICATE');
  assert.match(key.message, /found a private key/);
});

test('describePeerCertificate gives the SPIFFE ID, serial, notAfter and the base64url SHA-256 thumbprint', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/peer', dnsNames: ['localhost'] });
  const der = Buffer.from(leaf.cert.rawData);
  const info = describePeerCertificate(der);
  assert.deepEqual(info, {
    spiffeId: 'spiffe://td/peer',
    serial: leaf.cert.serialNumber.toLowerCase(),
    notAfter: leaf.cert.notAfter.toISOString(),
    thumbprint: createHash('sha256').update(der).digest('base64url'),
  });
  const two = await badCert(ca, 'wrong-leaf-two-uri-sans');
  await rejectsWith(() => describePeerCertificate(new Uint8Array(two.cert.rawData)), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => describePeerCertificate(new Uint8Array([1, 2, 3])), 'FLYME_INVALID_CERTIFICATE');
});

test('parseSvid checks the leaf and that the key matches it', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const a = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a', keyType: 'Ed25519' });
  const b = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/b' });
  assert.equal((await parseSvid(a.chainPem, a.keyPem)).spiffeId.toString(), 'spiffe://td/a');
  const e = await rejectsWith(() => parseSvid(a.chainPem, b.keyPem), 'FLYME_INVALID_CERTIFICATE');
  assert.match(e.message, /leaf certificate does not match private key/);
  await rejectsWith(() => parseSvid(a.keyPem, a.keyPem), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseSvid(ca.certPem, ca.keyPem), 'FLYME_INVALID_CERTIFICATE');
});

test('a cached verdict still checks the time, and a new bundle object starts without verdicts', async () => {
  const [root, issue, parse, verify] = [createRootCA, issueSvidWithKey, parseTrustBundle, verifyChain];
  const ca = await root({ trustDomain: 'cache.test', days: 30 });
  const other = await root({ trustDomain: 'cache.test', days: 30 });
  const svid = await issue(ca, { spiffeId: 'spiffe://cache.test/w', days: 1 });
  const bundle = parse(ca.certPem);
  const ok = await verify(svid.cert, [], bundle);
  assert.equal(ok.spiffeId.toString(), 'spiffe://cache.test/w');
  assert.equal((await verify(svid.cert, [], bundle)).spiffeId.toString(), 'spiffe://cache.test/w', 'the cached path gives the same answer');
  await assert.rejects(verify(svid.cert, [], bundle, { now: new Date(Date.now() + 3 * 86400_000) }), (e: unknown) => (e as { code?: string }).code === 'FLYME_CERT_EXPIRED');
  await assert.rejects(verify(svid.cert, [], parse(other.certPem)), (e: unknown) => (e as { code?: string }).code === 'FLYME_UNTRUSTED_CERTIFICATE');
});
