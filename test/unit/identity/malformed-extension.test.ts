// A certificate whose SAN extension does not decode is refused with FLYME_INVALID_CERTIFICATE wherever FlyMe reads
// it: @peculiar/x509 decodes extensions lazily (on first access, all at once), so the raw library error escaped
// from readUriSans/spiffeIdFromCertificate and, for an attacker's intermediate, from chain verification.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  createIntermediateCA, createRootCA, generateKeyPair, issueSvidWithKey, spiffeIdFromCertificate, TrustBundle, verifyPresented,
  type CertificateAuthority, type CryptoKeyPair,
} from '../../../src/identity/index.js';
import { x509, type X509Certificate } from '../../../src/identity/x509.js';
import { asCA, rejectsWith, signCert } from './fixtures.js';

const TD = 'flyme.local';
let root: CertificateAuthority;
let bundle: TrustBundle;

/** A SAN extension whose value is a truncated SEQUENCE (the certificate itself parses). */
const brokenSan = () => new x509.Extension('2.5.29.17', false, new Uint8Array([0x30, 0x08, 0x86, 0x06, 0x73]));

function cert(issuer: CertificateAuthority, keys: CryptoKeyPair, subject: string, ca: boolean, extra: x509.Extension[]): Promise<X509Certificate> {
  const KU = x509.KeyUsageFlags;
  return signCert(issuer, keys, subject, [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(ca ? KU.keyCertSign | KU.cRLSign : KU.digitalSignature, true),
    ...extra,
  ]);
}

before(async () => {
  root = await createRootCA({ trustDomain: TD, days: 1 });
  bundle = TrustBundle.fromCertificates([root.cert]);
});

test('control: a leaf below a well-formed intermediate verifies', async () => {
  const inter = await createIntermediateCA(root, { days: 1 });
  const leaf = await issueSvidWithKey(inter, { spiffeId: `spiffe://${TD}/w` });
  const v = await verifyPresented([new Uint8Array(leaf.cert.rawData), new Uint8Array(inter.cert.rawData)], bundle);
  assert.equal(v.spiffeId.toString(), `spiffe://${TD}/w`);
});

test('a leaf with an undecodable SAN: spiffeIdFromCertificate throws FLYME_INVALID_CERTIFICATE', async () => {
  const leaf = await cert(root, await generateKeyPair('P-256'), 'O=FlyMe', false, [brokenSan()]);
  await rejectsWith(() => spiffeIdFromCertificate(leaf), 'FLYME_INVALID_CERTIFICATE');
});

test("a peer's own intermediate with an undecodable SAN: verification refuses with FLYME_INVALID_CERTIFICATE", async () => {
  const keys = await generateKeyPair('P-256');
  const inter = await cert(root, keys, 'CN=evil', true, [brokenSan()]);
  const san = new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}/w` }]);
  const leaf = await cert(asCA(root, inter, keys), await generateKeyPair('P-256'), 'O=FlyMe', false, [san]);
  await rejectsWith(() => verifyPresented([new Uint8Array(leaf.rawData), new Uint8Array(inter.rawData)], bundle), 'FLYME_INVALID_CERTIFICATE');
});
