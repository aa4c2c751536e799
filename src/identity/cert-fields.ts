/**
 * Internal readers for the certificate fields FlyMe's rules look at, all decoded from the DER extensions by
 * `@peculiar/x509` (never from Node's formatted `subjectaltname` string). Not part of the public API.
 */
import { flymeError } from '../errors.js';
import { x509, type X509Certificate } from './x509.js';

const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EKU = '2.5.29.37';

/** One certificate extension decoded with the given class; FLYME_INVALID_CERTIFICATE when malformed or repeated. */
function single<T extends x509.Extension>(cert: X509Certificate, oid: string, Type: new (raw: ArrayBuffer) => T): T | undefined {
  let all: x509.Extension[];
  try {
    all = cert.extensions; // decoded lazily, every known extension at once: a malformed one throws here
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate has a malformed extension: ${(err as Error).message}`, undefined, err);
  }
  const raw = all.filter((e) => e.type === oid);
  if (raw.length > 1) throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate repeats the extension ${oid}`, { extension: oid });
  const [ext] = raw;
  if (!ext) return undefined;
  try {
    return new Type(ext.rawData);
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate has a malformed extension ${oid}: ${(err as Error).message}`, { extension: oid }, err);
  }
}

/** The URI SANs of a certificate, and whether the SAN extension is critical. */
export function readUriSans(cert: X509Certificate): { uris: string[]; critical: boolean } {
  const san = single(cert, OID_SAN, x509.SubjectAlternativeNameExtension);
  if (!san) return { uris: [], critical: false };
  return { uris: san.names.items.filter((n) => n.type === 'url').map((n) => n.value), critical: san.critical };
}

/** The DNS SANs of a certificate. */
export function readDnsSans(cert: X509Certificate): string[] {
  const san = single(cert, OID_SAN, x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value) : [];
}

/** Basic constraints (`ca: false` when the extension is absent). */
export function readBasicConstraints(cert: X509Certificate): { present: boolean; ca: boolean; pathLength?: number; critical: boolean } {
  const bc = single(cert, OID_BASIC_CONSTRAINTS, x509.BasicConstraintsExtension);
  if (!bc) return { present: false, ca: false, critical: false };
  return { present: true, ca: bc.ca, critical: bc.critical, ...(bc.pathLength !== undefined ? { pathLength: bc.pathLength } : {}) };
}

/** Key usage flags, or undefined when the extension is absent. */
export function readKeyUsage(cert: X509Certificate): { usages: number; critical: boolean } | undefined {
  const ku = single(cert, OID_KEY_USAGE, x509.KeyUsagesExtension);
  return ku ? { usages: ku.usages, critical: ku.critical } : undefined;
}

/** Extended key usage OIDs, or undefined when the extension is absent. */
export function readExtendedKeyUsage(cert: X509Certificate): string[] | undefined {
  const eku = single(cert, OID_EKU, x509.ExtendedKeyUsageExtension);
  return eku ? eku.usages.map(String) : undefined;
}

/** True when the key usage allows signing certificates (keyCertSign). */
export function canSignCertificates(cert: X509Certificate): boolean {
  const ku = readKeyUsage(cert);
  return readBasicConstraints(cert).ca && ku !== undefined && (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
}
