/**
 * RFC 8705 certificate thumbprints (`x5t#S256`) and the small PEM reader the token CLI needs.
 * Kept here (not in src/identity) so auth does not depend on the certificate stack.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { flymeError } from '../errors.js';

/**
 * base64url (no padding) SHA-256 of a DER-encoded certificate: the RFC 8705 `x5t#S256` value.
 *
 * @example
 * const tp = certificateThumbprint(tlsSocket.getPeerCertificate().raw)
 * // → 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'
 */
export function certificateThumbprint(der: Uint8Array): string {
  if (!(der instanceof Uint8Array) || der.length === 0) throw new TypeError('certificateThumbprint expects non-empty DER bytes');
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * Constant-time comparison of two thumbprint strings (different lengths compare unequal).
 *
 * @example
 * thumbprintsEqual(certificateThumbprint(der), claims.cnf['x5t#S256'])
 */
export function thumbprintsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/;

/**
 * The DER bytes of the first `CERTIFICATE` block of a PEM text.
 * Throws FLYME_INVALID_CONFIG when there is none or it is not valid base64.
 *
 * @example
 * const der = firstCertificateDer(readFileSync('client.pem', 'utf8'))
 */
export function firstCertificateDer(pem: string): Uint8Array {
  const m = CERT_BLOCK.exec(pem);
  if (!m) throw flymeError('FLYME_INVALID_CONFIG', 'no CERTIFICATE block found in the PEM input');
  const b64 = (m[1] ?? '').replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw flymeError('FLYME_INVALID_CONFIG', 'the CERTIFICATE block is not valid base64');
  }
  const der = Buffer.from(b64, 'base64');
  // DER of a certificate is a SEQUENCE (0x30); anything else is not a certificate.
  if (der.length < 2 || der[0] !== 0x30) throw flymeError('FLYME_INVALID_CONFIG', 'the CERTIFICATE block is not DER');
  return new Uint8Array(der);
}
