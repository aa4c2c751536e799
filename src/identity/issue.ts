import { flymeError } from '../errors.js';
import type { CertificateAuthority } from './ca.js';
import { type CryptoKey, type CryptoKeyPair, exportPrivateKeyPem, generateKeyPair, keyTypeOf, signingAlgorithm, type KeyType } from './keys.js';
import { certToPem, checkDnsNames, leafExtensions, randomSerial, validityWindow, type ValidityOptions } from './profile.js';
import { SpiffeId } from './spiffe-id.js';
import { x509, type X509Certificate } from './x509.js';

/** What {@link issueSvid} needs. Give exactly one of `publicKey` or `csrPem`. */
export interface IssueSvidOptions extends ValidityOptions {
  /** The leaf's SPIFFE ID; must be in the CA's trust domain and have a path. */
  spiffeId: SpiffeId | string;
  /** The subject's public key. */
  publicKey?: CryptoKey;
  /** A PKCS#10 CSR: its signature is verified and only its public key is used. */
  csrPem?: string;
  /** Extra DNS SANs (e.g. `localhost`). */
  dnsNames?: readonly string[];
}

/** An issued X.509-SVID. */
export interface IssuedSvid {
  cert: X509Certificate;
  spiffeId: SpiffeId;
  /** PEM of the leaf only. */
  certPem: string;
  /** PEM of the leaf followed by the CA's intermediates (root excluded): what a TLS endpoint presents. */
  chainPem: string;
}

/** An issued X.509-SVID with its freshly generated key. */
export interface IssuedSvidWithKey extends IssuedSvid {
  key: CryptoKeyPair;
  keyType: KeyType;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
}

const DEFAULT_LEAF_MS = 24 * 3_600_000;

async function subjectKey(opts: IssueSvidOptions): Promise<CryptoKey | x509.PublicKey> {
  if ((opts.publicKey === undefined) === (opts.csrPem === undefined)) {
    throw new TypeError('issueSvid needs exactly one of publicKey or csrPem');
  }
  if (opts.publicKey) {
    keyTypeOf(opts.publicKey);
    return opts.publicKey;
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(opts.csrPem!);
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `cannot parse CSR: ${(err as Error).message}`, { rule: 'csr-corrupt' }, err);
  }
  keyTypeOf(csr.publicKey);
  if (!(await csr.verify())) throw flymeError('FLYME_INVALID_CERTIFICATE', 'CSR signature does not verify', { rule: 'csr-signature' });
  return csr.publicKey; // Only the key: every extension and name the CSR asks for is ignored.
}

function leafId(ca: CertificateAuthority, spiffeId: SpiffeId | string): SpiffeId {
  const id = typeof spiffeId === 'string' ? SpiffeId.parse(spiffeId) : spiffeId;
  if (!id.memberOf(ca.trustDomain)) {
    throw flymeError('FLYME_INVALID_SPIFFE_ID', `cannot issue ${id.toString()}: the CA only issues IDs in trust domain ${ca.trustDomain}`, { rule: 'foreign-trust-domain', input: id.toString() });
  }
  if (id.isTrustDomainId) {
    throw flymeError('FLYME_INVALID_SPIFFE_ID', `cannot issue ${id.toString()}: a workload ID needs a path (spiffe://${ca.trustDomain}/name)`, { rule: 'leaf-id-no-path', input: id.toString() });
  }
  return id;
}

/**
 * Signs a leaf X.509-SVID with `ca`. The CA decides every field: one URI SAN (the SPIFFE ID) plus optional DNS
 * SANs, critical cA=false, critical keyUsage digitalSignature, EKU serverAuth+clientAuth, SKI/AKI, a random
 * 128-bit serial, notBefore backdated 60 s, notAfter capped at the CA's. Default lifetime 24 h.
 * @throws FlyMeError FLYME_INVALID_SPIFFE_ID (bad ID, other trust domain, no path), FLYME_INVALID_CERTIFICATE
 *   (bad CSR or key type), FLYME_INVALID_CONFIG (bad DNS name), FLYME_CERT_EXPIRED (CA expired).
 * @example const svid = await issueSvid(ca, { spiffeId: 'spiffe://flyme.local/api', csrPem })
 */
export async function issueSvid(ca: CertificateAuthority, opts: IssueSvidOptions): Promise<IssuedSvid> {
  const id = leafId(ca, opts.spiffeId);
  const dnsNames = checkDnsNames(opts.dnsNames ?? []);
  const publicKey = await subjectKey(opts);
  const { notBefore, notAfter } = validityWindow(opts, DEFAULT_LEAF_MS, ca.cert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ O: ['FlyMe'] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: ca.key.privateKey,
    signingAlgorithm: signingAlgorithm(ca.keyType),
    extensions: await leafExtensions(id.toString(), dnsNames, publicKey, ca.cert),
  });
  const certPem = certToPem(cert);
  const intermediates = ca.isRoot ? [] : [ca.cert, ...ca.chain];
  return { cert, spiffeId: id, certPem, chainPem: certPem + intermediates.map(certToPem).join('') };
}

/**
 * Generates a key pair (default P-256) and issues an SVID for it.
 * @example const { chainPem, keyPem } = await issueSvidWithKey(ca, { spiffeId: 'spiffe://flyme.local/client' })
 */
export async function issueSvidWithKey(ca: CertificateAuthority, opts: Omit<IssueSvidOptions, 'publicKey' | 'csrPem'> & { keyType?: KeyType }): Promise<IssuedSvidWithKey> {
  const keyType = opts.keyType ?? 'P-256';
  const key = await generateKeyPair(keyType);
  const svid = await issueSvid(ca, { ...opts, publicKey: key.publicKey });
  return { ...svid, key, keyType, keyPem: await exportPrivateKeyPem(key.privateKey) };
}
