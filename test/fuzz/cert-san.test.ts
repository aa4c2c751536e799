// Fuzz: URI SAN extraction and SVID checks (src/identity/validate.ts, cert-fields.ts, verify.ts) for certificates
// with arbitrary SAN contents, and for a real SVID's DER with mutated bytes (most of them inside the SAN
// extension). Only FlyMeError may be thrown, and each call is bounded in time.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertSvid, checkSvid, createRootCA, generateKeyPair, issueSvidWithKey, parseCertificates, spiffeIdFromCertificate, SpiffeId,
  TrustBundle, verifyPresented, type CertificateAuthority, type CryptoKeyPair,
} from '../../src/identity/index.js';
import { readDnsSans, readUriSans } from '../../src/identity/cert-fields.js';
import { x509, type X509Certificate } from '../../src/identity/x509.js';
import { fcOptions, onlyExpectedErrors, onlyExpectedErrorsAsync } from '../helpers/property.js';
import { textFrom } from '../helpers/fuzz-arbitraries.js';
import { signCert } from '../unit/identity/fixtures.js';

const TD = 'flyme.local';
let ca: CertificateAuthority;
let keys: CryptoKeyPair;
let bundle: TrustBundle;
let svidDer: Uint8Array;
let sanRange: [number, number];

const sanValue = fc.oneof(
  textFrom(['spiffe://', TD, '/', 'a', 'Z', '.', '..', '-', '_', ':', '@', '%', '?', '#', ' ', 'ä', '\u0000', 'other.td']),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const sanSpec = fc.record({
  uris: fc.array(sanValue, { maxLength: 3 }),
  dns: fc.array(fc.constantFrom('localhost', 'a.example', 'x'), { maxLength: 2 }),
  critical: fc.boolean(),
});

async function certWith(spec: { uris: string[]; dns: string[]; critical: boolean }): Promise<X509Certificate | undefined> {
  const names = [...spec.uris.map((value) => ({ type: 'url' as const, value })), ...spec.dns.map((value) => ({ type: 'dns' as const, value }))];
  try {
    return await signCert(ca, keys, '', [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names, spec.critical)] : []),
    ]);
  } catch {
    return undefined; // the generator refused the names (not the code under test)
  }
}

/** Every reader of a certificate: only FlyMeError, and the SPIFFE ID is exactly the single URI SAN when one parses. */
function readAll(cert: X509Certificate): void {
  const uris = onlyExpectedErrors('readUriSans', () => readUriSans(cert));
  onlyExpectedErrors('readDnsSans', () => readDnsSans(cert));
  const violations = onlyExpectedErrors('checkSvid', () => checkSvid(cert));
  assert.ok(violations.ok, 'checkSvid reports violations, it does not throw');
  const id = onlyExpectedErrors('spiffeIdFromCertificate', () => spiffeIdFromCertificate(cert));
  const asserted = onlyExpectedErrors('assertSvid', () => assertSvid(cert));
  if (id.ok) {
    assert.ok(uris.ok && uris.value.uris.length === 1);
    assert.equal(id.value.toString(), uris.value.uris[0]);
  } else {
    assert.equal(id.error.code, 'FLYME_INVALID_CERTIFICATE');
    if (uris.ok && uris.value.uris.length === 1) assert.throws(() => SpiffeId.parse(uris.value.uris[0]!));
  }
  if (asserted.ok) assert.equal(violations.value.length, 0);
  else assert.ok(['FLYME_INVALID_CERTIFICATE', 'FLYME_INVALID_SPIFFE_ID'].includes(asserted.error.code));
}

const mutation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), inSan: fc.boolean() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), inSan: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }), inSan: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }), inSan: fc.boolean() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), inSan: fc.boolean() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(der: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Buffer.from(der);
  for (const m of ms) {
    const [lo, hi] = m.inSan ? sanRange : [0, b.length];
    const at = Math.min(b.length, lo + (m.at % Math.max(1, hi - lo)));
    switch (m.op) {
      case 'set': if (at < b.length) b[at] = m.value; break;
      case 'flip': if (at < b.length) b[at] = b[at]! ^ (1 << m.bit); break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]); break;
      case 'truncate': b = b.subarray(0, at); break;
    }
  }
  return new Uint8Array(b);
}

describe('fuzz: certificate URI SANs', () => {
  before(async () => {
    ca = await createRootCA({ trustDomain: TD, days: 2 });
    keys = await generateKeyPair('P-256');
    bundle = TrustBundle.fromCertificates([ca.cert]);
    const svid = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/workload`, dnsNames: ['localhost'] });
    svidDer = new Uint8Array(svid.cert.rawData);
    const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);
    const at = Buffer.from(svidDer).indexOf(oid);
    assert.ok(at > 0, 'the SVID has a SAN extension');
    sanRange = [at, Math.min(svidDer.length, at + 64)];
  });

  it('control: the unmutated SVID reads back its ID and verifies', async () => {
    const [cert] = parseCertificates(svidDer);
    assert.equal(spiffeIdFromCertificate(cert!).toString(), `spiffe://${TD}/workload`);
    assert.equal((await verifyPresented([svidDer], bundle)).spiffeId.toString(), `spiffe://${TD}/workload`);
  });

  it('certificates with arbitrary URI SANs: only FlyMeError, ID = the single URI SAN, bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(sanSpec, async (spec) => {
        const cert = await certWith(spec);
        fc.pre(cert !== undefined);
        readAll(cert!);
        const der = new Uint8Array(cert!.rawData);
        const parsed = onlyExpectedErrors('parseCertificates(PEM)', () => parseCertificates(cert!.toString('pem')));
        assert.ok(parsed.ok && parsed.value.length === 1);
        await onlyExpectedErrorsAsync('verifyPresented', () => verifyPresented([der], bundle));
      }),
      fcOptions(),
    );
  });

  it('a real SVID with mutated DER bytes: only FlyMeError from parsing, reading and verifying, bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), async (ms, asPem) => {
        const der = mutate(svidDer, ms);
        const input = asPem ? `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n` : der;
        const parsed = onlyExpectedErrors('parseCertificates', () => parseCertificates(input));
        if (parsed.ok) for (const cert of parsed.value) readAll(cert);
        const v = await onlyExpectedErrorsAsync('verifyPresented', () => verifyPresented([der], bundle));
        if (v.ok) assert.equal(v.value.spiffeId.toString(), `spiffe://${TD}/workload`);
      }),
      fcOptions(),
    );
  });
});
