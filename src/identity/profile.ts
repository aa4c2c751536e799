/**
 * FlyMe's certificate profile: the exact extensions, serials and validity windows the CA puts into the
 * certificates it signs. Internal; see docs/identity.md for the table.
 */
import { randomBytes } from 'node:crypto';
import { flymeError } from '../errors.js';
import type { CryptoKey } from './keys.js';
import { x509, type X509Certificate } from './x509.js';

/** Clock-skew allowance: notBefore is set this far in the past. */
export const BACKDATE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Random bits in every serial (CA/Browser Forum baseline: at least 64; FlyMe: at least 128). */
export const SERIAL_RANDOM_BYTES = 16;

/**
 * The serial of every certificate FlyMe signs (roots, intermediates, leaves, the CA service's SVIDs):
 * a fixed 0x01 octet followed by 16 random bytes, i.e. 128 random bits in a DER INTEGER of 17 octets that is
 * always positive (first octet < 0x80), never zero, minimally encoded (first octet not 0) and within
 * RFC 5280's 20-octet limit. (Clearing the top bit of 16 random bytes would leave only 127.) Lowercase hex.
 */
export function randomSerial(): string {
  return `01${randomBytes(SERIAL_RANDOM_BYTES).toString('hex')}`;
}

/** Validity request: explicit dates (tests, rotation) or a lifetime counted from `now`. */
export interface ValidityOptions {
  days?: number;
  ttlSeconds?: number;
  notBefore?: Date;
  notAfter?: Date;
  now?: Date;
}

/** Computes [notBefore, notAfter]: backdated by {@link BACKDATE_MS}, notAfter capped at the issuer's notAfter. */
export function validityWindow(opts: ValidityOptions, defaultMs: number, issuer?: X509Certificate): { notBefore: Date; notAfter: Date } {
  const now = (opts.now ?? new Date()).getTime();
  if (opts.days !== undefined && !(opts.days > 0)) throw flymeError('FLYME_INVALID_CONFIG', `days must be a positive number (got ${opts.days})`);
  if (opts.ttlSeconds !== undefined && !(opts.ttlSeconds > 0)) throw flymeError('FLYME_INVALID_CONFIG', `ttlSeconds must be a positive number (got ${opts.ttlSeconds})`);
  const lifetime = opts.ttlSeconds !== undefined ? opts.ttlSeconds * 1000 : opts.days !== undefined ? opts.days * DAY_MS : defaultMs;
  let notBefore = opts.notBefore?.getTime() ?? now - BACKDATE_MS;
  let notAfter = opts.notAfter?.getTime() ?? now + lifetime;
  if (issuer) {
    if (opts.notBefore === undefined) notBefore = Math.max(notBefore, issuer.notBefore.getTime());
    notAfter = Math.min(notAfter, issuer.notAfter.getTime());
  }
  if (notAfter <= notBefore || (issuer && issuer.notAfter.getTime() <= now && opts.notAfter === undefined)) {
    throw flymeError('FLYME_CERT_EXPIRED', `cannot issue: the validity window is empty (issuer expired at ${issuer?.notAfter.toISOString() ?? 'n/a'} or notAfter <= notBefore)`);
  }
  // X.509 times have second precision; drop milliseconds so the certificate says what we computed.
  return { notBefore: new Date(Math.floor(notBefore / 1000) * 1000), notAfter: new Date(Math.floor(notAfter / 1000) * 1000) };
}

/** Authority key identifier pointing at the issuer (its SKI when present, else derived from its key). */
export async function authorityKeyId(issuer: X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey, false);
}

/** Extensions of a CA certificate: critical cA=true, critical keyCertSign|cRLSign, URI SAN spiffe://TD, SKI (+AKI). */
export async function caExtensions(trustDomainId: string, publicKey: CryptoKey, issuer: X509Certificate | undefined, pathLength?: number): Promise<x509.Extension[]> {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId }], false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false),
  ];
  if (issuer) exts.push(await authorityKeyId(issuer));
  return exts;
}

/**
 * Extensions of a leaf X.509-SVID, all chosen by the CA: critical cA=false, critical digitalSignature,
 * EKU serverAuth+clientAuth, one URI SAN (the SPIFFE ID) plus optional DNS SANs, SKI and AKI.
 */
export async function leafExtensions(spiffeId: string, dnsNames: readonly string[], publicKey: CryptoKey | x509.PublicKey, issuer: X509Certificate): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }, ...dnsNames.map((value) => ({ type: 'dns' as const, value }))], false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false),
    await authorityKeyId(issuer),
  ];
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Validates DNS SAN names (plain host names, no wildcards); FLYME_INVALID_CONFIG otherwise. */
export function checkDnsNames(names: readonly string[]): string[] {
  for (const name of names) {
    if (name.length > 253 || !name.split('.').every((l) => DNS_LABEL.test(l))) {
      throw flymeError('FLYME_INVALID_CONFIG', `invalid DNS name '${name}' (letters, digits and '-' labels separated by '.'; no wildcards)`, { dnsName: name });
    }
  }
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

/** PEM of one certificate, ending with a newline. */
export function certToPem(cert: X509Certificate): string {
  const pem = cert.toString('pem');
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
