import { createHash } from 'node:crypto';
import { flymeError } from '../errors.js';
import { spiffeIdFromCertificate } from './validate.js';
import { x509 } from './x509.js';

/** What the TLS layer records about a peer certificate. */
export interface PeerCertificateInfo {
  /** The SPIFFE ID from the single URI SAN (decoded from DER). */
  spiffeId: string;
  /** Serial number, lowercase hex. */
  serial: string;
  /** notAfter as an ISO-8601 string. */
  notAfter: string;
  /** base64url SHA-256 of the certificate DER (for token binding and logs). */
  thumbprint: string;
}

/**
 * Describes a peer certificate from its DER bytes (what `tlsSocket.getPeerCertificate(true).raw` gives). It
 * does not verify anything: call it on a certificate whose chain was verified.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE when the DER is corrupt or holds no single valid SPIFFE ID.
 * @example const info = describePeerCertificate(socket.getPeerCertificate(true).raw)
 */
export function describePeerCertificate(der: Uint8Array): PeerCertificateInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(Uint8Array.from(der));
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `corrupt peer certificate: ${(err as Error).message}`, undefined, err);
  }
  return certificateInfo(cert, der);
}

/**
 * The same description from an already parsed certificate and its DER (no second parse), e.g. after
 * `verifyChain`, which also returns the SPIFFE ID it read.
 */
export function certificateInfo(cert: x509.X509Certificate, der: Uint8Array, spiffeId: { toString(): string } = spiffeIdFromCertificate(cert)): PeerCertificateInfo {
  return {
    spiffeId: spiffeId.toString(),
    serial: cert.serialNumber.toLowerCase(),
    notAfter: cert.notAfter.toISOString(),
    thumbprint: createHash('sha256').update(der).digest('base64url'),
  };
}
