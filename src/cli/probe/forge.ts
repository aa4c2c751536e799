/**
 * Attacker credentials for `flyme probe` and `flyme-fake-client`: leaves that claim a real SPIFFE ID but are
 * not issued by the daemon's CA. A self-signed leaf is a plain end-entity certificate (cA=false,
 * digitalSignature, one URI SAN) signed by its own key: exactly what a client forging an identity presents,
 * not a CA certificate.
 */
import { createRootCA, exportPrivateKeyPem, generateKeyPair, issueSvidWithKey, loadCA, type CertificateAuthority } from '../../identity/index.js';
import { certToPem, randomSerial } from '../../identity/profile.js';
import { x509 } from '../../identity/x509.js';
import { SpiffeId } from '../../identity/spiffe-id.js';

export interface ForgedCreds { cert: string; key: string }

/** A self-signed leaf claiming `spiffeId` (valid now, for a day). */
export async function selfSignedLeaf(spiffeId: string): Promise<ForgedCreds> {
  const key = await generateKeyPair('P-256');
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ O: ['FlyMe attacker'] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: key,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], false),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey, false),
    ],
  });
  return { cert: certToPem(cert), key: await exportPrivateKeyPem(key.privateKey) };
}

/** A CA that is not the daemon's: `dir` (root-ca.pem + root-ca.key.pem, e.g. a retired CA) or a fresh one. */
export async function otherCA(trustDomain: string, dir?: string): Promise<CertificateAuthority> {
  return dir ? loadCA(dir) : createRootCA({ trustDomain, days: 1 });
}

/** A leaf claiming `spiffeId`, signed by `ca`. */
export async function leafFrom(ca: CertificateAuthority, spiffeId: string): Promise<ForgedCreds> {
  const svid = await issueSvidWithKey(ca, { spiffeId, days: 1 });
  return { cert: svid.chainPem, key: svid.keyPem };
}

export const trustDomainOf = (spiffeId: string): string => SpiffeId.parse(spiffeId).trustDomain;
