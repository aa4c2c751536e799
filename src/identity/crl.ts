/**
 * Certificate revocation lists signed by a FlyMe CA. A CRL revokes only certificates its signer issued
 * ({@link TrustBundle.isRevoked} checks the signature with the issuer's key), so an intermediate lists the
 * SVIDs it signed. Used by the CA service when a registration entry is deleted.
 */
import type { CertificateAuthority } from './ca.js';
import { signingAlgorithm } from './keys.js';
import { x509 } from './x509.js';

/** Options for {@link createCrl}. */
export interface CrlOptions {
  /** Default now. */
  thisUpdate?: Date;
  /** When a newer list is due (default thisUpdate + 1 day). */
  nextUpdate?: Date;
}

/**
 * Signs a CRL listing `serials` (lowercase hex, as `cert.serialNumber` gives them) with `ca`.
 * @example const crl = await createCrl(intermediate, [leaf.serialNumber]); bundle.withCrls([crl])
 */
export async function createCrl(ca: CertificateAuthority, serials: readonly string[], o: CrlOptions = {}): Promise<x509.X509Crl> {
  const thisUpdate = o.thisUpdate ?? new Date();
  return x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate,
    nextUpdate: o.nextUpdate ?? new Date(thisUpdate.getTime() + 86_400_000),
    signingAlgorithm: signingAlgorithm(ca.keyType),
    signingKey: ca.key.privateKey,
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: thisUpdate })),
  });
}
