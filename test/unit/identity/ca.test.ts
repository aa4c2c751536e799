import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import {
  checkSigningCertificate, checkSvid, createIntermediateCA, createRootCA, generateKeyPair, issueSvid, issueSvidWithKey,
  loadCA, parseCA, spiffeIdFromCertificate, verifyChain, writePrivateKeyFile, writePublicFile, type KeyType,
} from '../../../src/identity/index.js';
import { x509 } from '../../../src/identity/x509.js';
import { rejectsWith, tempDir } from './fixtures.js';

const OPENSSL = '/usr/bin/openssl';
const flat = (s: string): string => s.replace(/\s+/g, ' ');

function opensslText(dir: string, name: string, pem: string): string {
  const file = join(dir, name);
  writeFileSync(file, pem);
  return flat(execFileSync(OPENSSL, ['x509', '-text', '-noout', '-in', file], { encoding: 'utf8' }));
}

for (const keyType of ['P-256', 'Ed25519'] as KeyType[]) {
  test(`${keyType}: root and leaf have exactly FlyMe's profile (openssl -text) and pass openssl verify -x509_strict`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ca = await createRootCA({ trustDomain: 'flyme.local', keyType });
      const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://flyme.local/flymed', dnsNames: ['localhost'], keyType });
      const root = opensslText(dir, 'root.pem', ca.certPem);
      assert.match(root, /X509v3 Basic Constraints: critical CA:TRUE /);
      assert.match(root, /X509v3 Key Usage: critical Certificate Sign, CRL Sign /);
      assert.match(root, /X509v3 Subject Alternative Name: URI:spiffe:\/\/flyme.local /);
      assert.match(root, /X509v3 Subject Key Identifier: /);
      assert.doesNotMatch(root, /Extended Key Usage/);
      const text = opensslText(dir, 'leaf.pem', leaf.certPem);
      assert.match(text, /X509v3 Basic Constraints: critical CA:FALSE /);
      assert.match(text, /X509v3 Key Usage: critical Digital Signature X509v3/);
      assert.match(text, /X509v3 Extended Key Usage: TLS Web Server Authentication, TLS Web Client Authentication /);
      assert.match(text, /X509v3 Subject Alternative Name: URI:spiffe:\/\/flyme.local\/flymed, DNS:localhost X509v3/);
      assert.match(text, /X509v3 Subject Key Identifier: /);
      assert.match(text, /X509v3 Authority Key Identifier: /);
      assert.equal(text.match(/X509v3 [A-Z][A-Za-z ]+:/g)?.length, 6, 'exactly six extensions');
      writeFileSync(join(dir, 'chain.pem'), leaf.chainPem);
      const out = execFileSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
      assert.match(out, /leaf.pem: OK/);
      assert.deepEqual(checkSvid(leaf.cert), []);
      assert.deepEqual(checkSigningCertificate(ca.cert), []);
      assert.equal(spiffeIdFromCertificate(leaf.cert).toString(), 'spiffe://flyme.local/flymed');
      assert.equal((await verifyChain(leaf.cert, [], [ca.cert])).spiffeId.toString(), 'spiffe://flyme.local/flymed');
    } finally {
      cleanup();
    }
  });
}

test('leaf without DNS names has only the URI SAN', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ca = await createRootCA({ trustDomain: 'td' });
    const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/w' });
    assert.match(opensslText(dir, 'l.pem', leaf.certPem), /Subject Alternative Name: URI:spiffe:\/\/td\/w X509v3/);
  } finally {
    cleanup();
  }
});

/** The serialNumber INTEGER's content octets, read from the certificate's DER (not from a library's hex). */
function derSerial(der: Uint8Array): Uint8Array {
  let i = 0;
  const header = (): { tag: number; len: number } => {
    const tag = der[i++]!;
    let len = der[i++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[i++]!;
    }
    return { tag, len };
  };
  assert.equal(header().tag, 0x30); // Certificate
  assert.equal(header().tag, 0x30); // TBSCertificate
  let h = header();
  if (h.tag === 0xa0) { i += h.len; h = header(); } // [0] version
  assert.equal(h.tag, 0x02, 'serialNumber is an INTEGER');
  return der.slice(i, i + h.len);
}

test('serials: 0x01 then 128 random bits, a positive 17-octet INTEGER, all distinct (roots, intermediates, leaves)', async () => {
  const root = await createRootCA({ trustDomain: 'td' });
  const mid = await createIntermediateCA(root);
  const certs = [root.cert, mid.cert];
  for (let n = 0; n < 160; n++) certs.push((await issueSvidWithKey(n % 2 ? mid : root, { spiffeId: 'spiffe://td/a' })).cert);
  const seen = new Set<string>();
  const ones = new Array<number>(128).fill(0);
  for (const cert of certs) {
    const serial = derSerial(new Uint8Array(cert.rawData));
    assert.equal(serial.length, 17, `17 octets (<= 20, RFC 5280): ${Buffer.from(serial).toString('hex')}`);
    assert.equal(serial[0], 0x01, 'the fixed first octet keeps it positive and minimally encoded');
    const hex = Buffer.from(serial).toString('hex');
    assert.equal(cert.serialNumber.toLowerCase(), hex);
    assert.ok(!seen.has(hex), `serial ${hex} repeated`);
    seen.add(hex);
    for (let bit = 0; bit < 128; bit++) if (serial[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) ones[bit]!++;
  }
  // Every one of the 128 random bit positions takes both values (a fixed bit would be 0 or certs.length).
  const fixed = ones.flatMap((c, bit) => (c === 0 || c === certs.length ? [bit] : []));
  assert.deepEqual(fixed, [], 'bit positions that never varied');
});

test('validity: notBefore backdated 60 s, notAfter capped at the CA notAfter', async () => {
  const now = Date.now();
  const ca = await createRootCA({ trustDomain: 'td', days: 2 });
  const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a', days: 30 });
  assert.ok(Math.abs(leaf.cert.notBefore.getTime() - (now - 60_000)) < 5_000);
  assert.equal(leaf.cert.notAfter.getTime(), ca.cert.notAfter.getTime());
  const short = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/a', ttlSeconds: 600 });
  assert.ok(Math.abs(short.cert.notAfter.getTime() - (now + 600_000)) < 5_000);
});

test('a CSR asking for cA=true and another URI SAN yields a normal leaf', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const keys = await generateKeyPair('P-256');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=evil',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 5, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://td/admin' }, { type: 'url', value: 'spiffe://other/x' }, { type: 'dns', value: 'evil.example' }]),
    ],
  });
  const svid = await issueSvid(ca, { spiffeId: 'spiffe://td/worker', csrPem: csr.toString('pem') });
  assert.deepEqual(checkSvid(svid.cert), []);
  assert.equal(spiffeIdFromCertificate(svid.cert).toString(), 'spiffe://td/worker');
  assert.equal(svid.cert.subject, 'O=FlyMe');
  assert.equal(svid.cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.equal(svid.cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.length, 1);
  assert.ok(Buffer.from(svid.cert.publicKey.rawData).equals(Buffer.from(csr.publicKey.rawData)));
});

test('a CSR with a broken signature is refused', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const keys = await generateKeyPair('P-256');
  const other = await generateKeyPair('P-256');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const der = new Uint8Array(csr.rawData);
  der[der.length - 5] ^= 0xff;
  await rejectsWith(() => issueSvid(ca, { spiffeId: 'spiffe://td/x', csrPem: x509.PemConverter.encode(der, 'CERTIFICATE REQUEST') }), 'FLYME_INVALID_CERTIFICATE');
  await assert.rejects(() => issueSvid(ca, { spiffeId: 'spiffe://td/x', publicKey: other.publicKey, csrPem: csr.toString('pem') }), TypeError);
});

test('the CA refuses IDs of other trust domains, root IDs, bad DNS names and over-long IDs', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const e = await rejectsWith(() => issueSvidWithKey(ca, { spiffeId: 'spiffe://other/x' }), 'FLYME_INVALID_SPIFFE_ID');
  assert.equal(e.data['rule'], 'foreign-trust-domain');
  await rejectsWith(() => issueSvidWithKey(ca, { spiffeId: 'spiffe://td' }), 'FLYME_INVALID_SPIFFE_ID');
  await rejectsWith(() => issueSvidWithKey(ca, { spiffeId: 'spiffe://td/x', dnsNames: ['*.example'] }), 'FLYME_INVALID_CONFIG');
  await rejectsWith(() => issueSvidWithKey(ca, { spiffeId: `spiffe://td/${'a'.repeat(2040)}` }), 'FLYME_INVALID_SPIFFE_ID');
});

test('intermediate CA: chain verifies with node, openssl and verifyChain; root key can stay offline', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const root = await createRootCA({ trustDomain: 'td', keyType: 'Ed25519' });
    const mid = await createIntermediateCA(root, { pathLength: 0 });
    const leaf = await issueSvidWithKey(mid, { spiffeId: 'spiffe://td/w' });
    assert.equal(mid.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, root.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    const r = await verifyChain(leaf.cert, [mid.cert], [root.cert]);
    assert.equal(r.chain.length, 3);
    writeFileSync(join(dir, 'root.pem'), root.certPem);
    writeFileSync(join(dir, 'mid.pem'), mid.certPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf.certPem);
    assert.match(execFileSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'mid.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' }), /OK/);
    assert.ok(leaf.chainPem.startsWith(leaf.certPem) && leaf.chainPem.endsWith(mid.certPem));
    await rejectsWith(() => verifyChain(leaf.cert, [], [root.cert]), 'FLYME_UNTRUSTED_CERTIFICATE');
    const deeper = await createIntermediateCA(mid);
    const leaf2 = await issueSvidWithKey(deeper, { spiffeId: 'spiffe://td/w' });
    const e = await rejectsWith(() => verifyChain(leaf2.cert, [deeper.cert, mid.cert], [root.cert]), 'FLYME_UNTRUSTED_CERTIFICATE');
    assert.equal(e.data['reason'], 'path-length');
  } finally {
    cleanup();
  }
});

for (const keyType of ['P-256', 'Ed25519'] as KeyType[]) {
  test(`${keyType}: CA and keys round-trip through PKCS#8 PEM files and node:tls accepts them`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ca = await createRootCA({ trustDomain: 'td', keyType });
      assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      await writePublicFile(join(dir, 'root-ca.pem'), ca.certPem);
      await writePrivateKeyFile(join(dir, 'root-ca.key.pem'), ca.keyPem);
      const loaded = await loadCA(dir);
      assert.equal(loaded.trustDomain, 'td');
      assert.equal(loaded.keyType, keyType);
      assert.ok(loaded.isRoot);
      const leaf = await issueSvidWithKey(loaded, { spiffeId: 'spiffe://td/x', keyType });
      await verifyChain(leaf.cert, [], [ca.cert]);
      createSecureContext({ cert: leaf.chainPem, key: leaf.keyPem, ca: ca.certPem });
      createSecureContext({ cert: ca.certPem, key: ca.keyPem });
    } finally {
      cleanup();
    }
  });
}

test('parseCA refuses a leaf, a mismatched key, a key given as the cert, and RSA keys', async () => {
  const ca = await createRootCA({ trustDomain: 'td' });
  const other = await createRootCA({ trustDomain: 'td' });
  const leaf = await issueSvidWithKey(ca, { spiffeId: 'spiffe://td/x' });
  await rejectsWith(() => parseCA(leaf.certPem, leaf.keyPem), 'FLYME_INVALID_CERTIFICATE');
  const e = await rejectsWith(() => parseCA(ca.certPem, other.keyPem), 'FLYME_INVALID_CERTIFICATE');
  assert.match(e.message, /does not match private key/);
  await rejectsWith(() => parseCA(ca.keyPem, ca.keyPem), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseCA(ca.certPem, ca.certPem), 'FLYME_INVALID_CERTIFICATE');
  const { generateKeyPairSync } = await import('node:crypto');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const r = await rejectsWith(() => parseCA(ca.certPem, rsa), 'FLYME_INVALID_CERTIFICATE');
  assert.match(r.message, /unsupported private key type rsa/);
  await rejectsWith(() => loadCA('/nonexistent-flyme-dir'), 'FLYME_INVALID_CONFIG');
});
