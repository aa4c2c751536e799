import { FlyMeError, flymeError } from '../errors.js';
import { readBasicConstraints, readExtendedKeyUsage, readKeyUsage, readUriSans } from './cert-fields.js';
import { SpiffeId } from './spiffe-id.js';
import { x509, type X509Certificate } from './x509.js';

/** Stable codes of the X.509-SVID rules a certificate can break. */
export type SvidViolationCode =
  | 'uri-san-count' | 'invalid-spiffe-id' | 'leaf-id-no-path' | 'signing-id-has-path' | 'uri-san-not-critical'
  | 'leaf-is-ca' | 'ca-not-ca' | 'missing-key-usage' | 'key-usage-not-critical' | 'missing-digital-signature'
  | 'has-key-cert-sign' | 'has-crl-sign' | 'missing-key-cert-sign' | 'eku-incomplete' | 'malformed-extension';

/** One broken rule: a stable `code` and a sentence for people. */
export interface SvidViolation {
  code: SvidViolationCode;
  message: string;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const PEM_CERT = 'CERTIFICATE';

function parseOne(der: ArrayBuffer | Uint8Array, index: number): X509Certificate {
  try {
    return new x509.X509Certificate(der instanceof Uint8Array ? Uint8Array.from(der) : der);
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `corrupt certificate (#${index + 1}): ${(err as Error).message}`, { index }, err);
  }
}

/**
 * Parses one or more certificates from PEM text (a chain, leaf first; private-key blocks are skipped) or from
 * one DER certificate.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE on garbage, an empty input, corrupt DER, or a private key
 *   given where a certificate is expected.
 * @example const [leaf, ...intermediates] = parseCertificates(readFileSync('server.pem', 'utf8'))
 */
export function parseCertificates(pemOrDer: string | Uint8Array): X509Certificate[] {
  const text = typeof pemOrDer === 'string' ? pemOrDer : looksLikePem(pemOrDer) ? Buffer.from(pemOrDer).toString('latin1') : undefined;
  if (text === undefined) return [parseOne(pemOrDer as Uint8Array, 0)];
  let blocks: { type: string; rawData: ArrayBuffer }[];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(text);
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `not a PEM certificate: ${(err as Error).message}`, undefined, err);
  }
  const certs = blocks.filter((b) => b.type === PEM_CERT);
  const other = blocks.filter((b) => b.type !== PEM_CERT && !b.type.endsWith('PRIVATE KEY')).map((b) => b.type);
  if (other.length > 0) throw flymeError('FLYME_INVALID_CERTIFICATE', `expected certificates but found a PEM block '${other[0]}'`, { pemType: other[0] });
  if (certs.length === 0) {
    const hasKey = blocks.some((b) => b.type.endsWith('PRIVATE KEY'));
    throw flymeError('FLYME_INVALID_CERTIFICATE', hasKey ? 'expected a certificate but found a private key' : 'no PEM certificate found (expected -----BEGIN CERTIFICATE-----)');
  }
  return certs.map((b, i) => parseOne(b.rawData, i));
}

function looksLikePem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 4096)).toString('latin1').includes('-----BEGIN ');
}

/**
 * The SPIFFE ID of a certificate: its single URI SAN, decoded from the DER extension.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE when there is not exactly one URI SAN or it is not a valid SPIFFE ID.
 * @example spiffeIdFromCertificate(leaf).toString() // 'spiffe://flyme.local/flymed'
 */
export function spiffeIdFromCertificate(cert: X509Certificate): SpiffeId {
  const { uris } = readUriSans(cert);
  if (uris.length !== 1) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate must have exactly one URI SAN (the SPIFFE ID) but has ${uris.length}`, { rule: 'uri-san-count', count: uris.length });
  }
  try {
    return SpiffeId.parse(uris[0]!);
  } catch (err) {
    const msg = err instanceof FlyMeError ? err.message : String(err);
    throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate URI SAN is not a valid SPIFFE ID: ${msg}`, { rule: 'invalid-spiffe-id' }, err);
  }
}

function idViolations(cert: X509Certificate, role: 'leaf' | 'signing', out: SvidViolation[]): void {
  const { uris, critical } = readUriSans(cert);
  if (uris.length !== 1) {
    if (role === 'leaf' || uris.length > 1) out.push({ code: 'uri-san-count', message: `certificate must have exactly one URI SAN but has ${uris.length}` });
    return;
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(uris[0]!);
  } catch (err) {
    out.push({ code: 'invalid-spiffe-id', message: `URI SAN is not a valid SPIFFE ID: ${(err as Error).message}` });
    return;
  }
  if (role === 'leaf' && id.isTrustDomainId) out.push({ code: 'leaf-id-no-path', message: `leaf certificate SPIFFE ID must have a non-root path (got ${id.toString()})` });
  if (role === 'signing' && !id.isTrustDomainId) out.push({ code: 'signing-id-has-path', message: `signing certificate SPIFFE ID must not have a path (got ${id.toString()})` });
  if (cert.subjectName.toJSON().length === 0 && !critical) out.push({ code: 'uri-san-not-critical', message: 'subject is empty, so the SAN extension must be critical' });
}

function collect(cert: X509Certificate, role: 'leaf' | 'signing'): SvidViolation[] {
  const out: SvidViolation[] = [];
  try {
    idViolations(cert, role, out);
    const bc = readBasicConstraints(cert);
    const ku = readKeyUsage(cert);
    const has = (flag: number): boolean => ku !== undefined && (ku.usages & flag) !== 0;
    if (role === 'leaf' && bc.ca) out.push({ code: 'leaf-is-ca', message: 'leaf certificate has basicConstraints cA=true' });
    if (role === 'signing' && !bc.ca) out.push({ code: 'ca-not-ca', message: 'signing certificate lacks basicConstraints cA=true' });
    if (!ku) out.push({ code: 'missing-key-usage', message: 'keyUsage extension is missing' });
    else if (!ku.critical) out.push({ code: 'key-usage-not-critical', message: 'keyUsage extension must be critical' });
    if (role === 'leaf') {
      if (ku && !has(x509.KeyUsageFlags.digitalSignature)) out.push({ code: 'missing-digital-signature', message: 'leaf keyUsage lacks digitalSignature' });
      if (has(x509.KeyUsageFlags.keyCertSign)) out.push({ code: 'has-key-cert-sign', message: 'leaf keyUsage has keyCertSign' });
      if (has(x509.KeyUsageFlags.cRLSign)) out.push({ code: 'has-crl-sign', message: 'leaf keyUsage has cRLSign' });
      const eku = readExtendedKeyUsage(cert);
      if (eku && !(eku.includes(SERVER_AUTH) && eku.includes(CLIENT_AUTH))) out.push({ code: 'eku-incomplete', message: 'extendedKeyUsage must include both serverAuth and clientAuth' });
    } else if (ku && !has(x509.KeyUsageFlags.keyCertSign)) {
      out.push({ code: 'missing-key-cert-sign', message: 'signing certificate keyUsage lacks keyCertSign' });
    }
  } catch (err) {
    out.push({ code: 'malformed-extension', message: (err as Error).message });
  }
  return out;
}

/**
 * Checks a leaf certificate against the X.509-SVID rules (exactly one URI SAN holding a SPIFFE ID with a path,
 * cA=false, critical keyUsage with digitalSignature and without keyCertSign/cRLSign, EKU with serverAuth and
 * clientAuth when present). Returns every violation; empty means conformant.
 * @example if (checkSvid(leaf).length) console.error(checkSvid(leaf).map((v) => v.code))
 */
export function checkSvid(cert: X509Certificate): SvidViolation[] {
  return collect(cert, 'leaf');
}

/** Like {@link checkSvid} for a CA (signing) certificate: cA=true, keyCertSign, SPIFFE ID (if any) without a path. */
export function checkSigningCertificate(cert: X509Certificate): SvidViolation[] {
  return collect(cert, 'signing');
}

/**
 * Throws when {@link checkSvid} finds a violation and returns the leaf's SPIFFE ID otherwise.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE naming the first violation (`data.rule` is its code).
 */
export function assertSvid(cert: X509Certificate): SpiffeId {
  const [first] = checkSvid(cert);
  if (first) throw flymeError('FLYME_INVALID_CERTIFICATE', `invalid X.509-SVID: ${first.message}`, { rule: first.code });
  return spiffeIdFromCertificate(cert);
}
