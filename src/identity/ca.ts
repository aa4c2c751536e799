import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { flymeError } from '../errors.js';
import { canSignCertificates } from './cert-fields.js';
import { type CryptoKeyPair, exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, publicKeyMatches, signingAlgorithm, type KeyType } from './keys.js';
import { caExtensions, certToPem, randomSerial, validityWindow, type ValidityOptions } from './profile.js';
import { parseTrustDomain } from './spiffe-id.js';
import { checkSigningCertificate, parseCertificates, spiffeIdFromCertificate } from './validate.js';
import { x509, type X509Certificate } from './x509.js';

/** A certificate authority that can sign: its certificate, key pair, and where it sits. */
export interface CertificateAuthority {
  /** This CA's certificate. */
  cert: X509Certificate;
  /** CA certificates between this one and the root, nearest first, root excluded (empty for a root). */
  chain: X509Certificate[];
  key: CryptoKeyPair;
  keyType: KeyType;
  /** Trust domain name (from the CA's `spiffe://td` URI SAN). */
  trustDomain: string;
  /** True for a self-signed root. */
  isRoot: boolean;
  /** PEM of `cert` only. */
  certPem: string;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
}

/** Options for {@link createRootCA} and {@link createIntermediateCA}. */
export interface CAOptions extends ValidityOptions {
  keyType?: KeyType;
  /** Subject CN; default `FlyMe Root CA` / `FlyMe Intermediate CA`. */
  commonName?: string;
  /** basicConstraints pathLenConstraint; omitted by default. */
  pathLength?: number;
}

const DEFAULT_CA_MS = 365 * 86_400_000;

function caName(commonName: string): x509.JsonName {
  return [{ O: ['FlyMe'] }, { CN: [commonName.slice(0, 64)] }];
}

async function finish(cert: X509Certificate, chain: X509Certificate[], key: CryptoKeyPair, keyType: KeyType, trustDomain: string, isRoot: boolean): Promise<CertificateAuthority> {
  return { cert, chain, key, keyType, trustDomain, isRoot, certPem: certToPem(cert), keyPem: await exportPrivateKeyPem(key.privateKey) };
}

/**
 * Creates a self-signed root CA for a trust domain (basicConstraints cA=true critical, keyUsage
 * keyCertSign|cRLSign critical, URI SAN `spiffe://<td>`, SKI). Default P-256, 365 days.
 * @example const root = await createRootCA({ trustDomain: 'flyme.local', keyType: 'Ed25519' })
 */
export async function createRootCA(opts: CAOptions & { trustDomain: string }): Promise<CertificateAuthority> {
  const trustDomain = parseTrustDomain(opts.trustDomain);
  const keyType = opts.keyType ?? 'P-256';
  const key = await generateKeyPair(keyType);
  const { notBefore, notAfter } = validityWindow(opts, DEFAULT_CA_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: caName(opts.commonName ?? 'FlyMe Root CA'),
    notBefore,
    notAfter,
    keys: key,
    signingAlgorithm: signingAlgorithm(keyType),
    extensions: await caExtensions(`spiffe://${trustDomain}`, key.publicKey, undefined, opts.pathLength),
  });
  return finish(cert, [], key, keyType, trustDomain, true);
}

/**
 * Creates an intermediate CA signed by `parent` (same trust domain, AKI pointing at the parent, notAfter
 * capped at the parent's), so the root key can stay offline.
 * @example const mid = await createIntermediateCA(root, { days: 30 })
 */
export async function createIntermediateCA(parent: CertificateAuthority, opts: CAOptions = {}): Promise<CertificateAuthority> {
  const keyType = opts.keyType ?? parent.keyType;
  const key = await generateKeyPair(keyType);
  const { notBefore, notAfter } = validityWindow(opts, DEFAULT_CA_MS, parent.cert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: caName(opts.commonName ?? 'FlyMe Intermediate CA'),
    issuer: parent.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: key.publicKey,
    signingKey: parent.key.privateKey,
    signingAlgorithm: signingAlgorithm(parent.keyType),
    extensions: await caExtensions(`spiffe://${parent.trustDomain}`, key.publicKey, parent.cert, opts.pathLength),
  });
  const chain = parent.isRoot ? [] : [parent.cert, ...parent.chain];
  return finish(cert, chain, key, keyType, parent.trustDomain, false);
}

/**
 * Builds a CA from PEM text: the CA certificate first (optionally followed by its intermediates) and its
 * PKCS#8 private key (P-256 or Ed25519).
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE when the certificate is not a CA, has no `spiffe://td` URI SAN,
 *   or does not match the key.
 */
export async function parseCA(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const [cert, ...rest] = parseCertificates(certPem);
  const violations = checkSigningCertificate(cert!);
  if (violations.length > 0 || !canSignCertificates(cert!)) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `not a usable CA certificate: ${violations[0]?.message ?? 'missing keyCertSign'}`, { rule: violations[0]?.code ?? 'missing-key-cert-sign' });
  }
  const id = spiffeIdFromCertificate(cert!);
  const { keyPair, keyType } = await importPrivateKeyPem(keyPem);
  if (!(await publicKeyMatches(cert!, keyPair.publicKey))) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', 'CA certificate does not match private key', { rule: 'key-mismatch' });
  }
  const isRoot = await cert!.isSelfSigned();
  const chain: X509Certificate[] = [];
  for (const c of rest) if (!(await c.isSelfSigned())) chain.push(c);
  return { cert: cert!, chain, key: keyPair, keyType, trustDomain: id.trustDomain, isRoot, certPem: certToPem(cert!), keyPem };
}

/**
 * Loads a CA from a directory holding `root-ca.pem` and `root-ca.key.pem` (what `flyme certs init` writes),
 * or from explicit paths.
 * @example const ca = await loadCA('/etc/flyme/certs')
 * @example const ca = await loadCA({ certPath: 'mid.pem', keyPath: 'mid.key.pem' })
 */
export async function loadCA(source: string | { certPath: string; keyPath: string }): Promise<CertificateAuthority> {
  const { certPath, keyPath } = typeof source === 'string' ? { certPath: join(source, 'root-ca.pem'), keyPath: join(source, 'root-ca.key.pem') } : source;
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path }, err);
    }
  };
  return parseCA(await read(certPath), await read(keyPath));
}
