/**
 * Test CA helpers and a named factory of bad certificates, like go-spiffe's `svid/x509svid/testdata`
 * (`wrong-leaf-ca-true.pem`, `wrong-leaf-crl-sign.pem`, ...), built directly with @peculiar/x509 so each
 * breaks exactly one rule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type CertificateAuthority, type CryptoKeyPair } from '../../../src/identity/index.js';
import { x509, type X509Certificate } from '../../../src/identity/x509.js';
import { Type } from '@sinclair/typebox';
import type { TlsServerUpgrader } from '../../../src/identity/tls/index.js';
import { RpcServer, type RpcServerOptions } from '../../../src/rpc/server.js';

/** Names of the bad certificates {@link badCert} can build. */
export type BadCertKind =
  | 'wrong-leaf-ca-true'
  | 'wrong-leaf-two-uri-sans'
  | 'wrong-leaf-empty-id'
  | 'wrong-leaf-no-digital-signature'
  | 'wrong-leaf-cert-sign'
  | 'wrong-leaf-crl-sign'
  | 'wrong-leaf-root-path-id'
  | 'wrong-leaf-bad-spiffe-id'
  | 'wrong-leaf-server-auth-only'
  | 'wrong-intermediate-no-ca'
  | 'wrong-intermediate-no-key-cert-sign';

const KU = x509.KeyUsageFlags;
const EKU = x509.ExtendedKeyUsage;

function san(uris: string[]): x509.Extension {
  return new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })));
}

function sigAlg(ca: CertificateAuthority): { name: string; hash?: string } {
  return ca.keyType === 'P-256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

/** A certificate for `keys`, signed by `ca`, carrying exactly `extensions` (plus the authority key identifier). */
export async function signCert(ca: CertificateAuthority, keys: CryptoKeyPair, subject: string, extensions: x509.Extension[]): Promise<X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: '01' + Math.floor(Math.random() * 1e12).toString(16).padStart(12, '0'),
    subject,
    issuer: ca.cert.subjectName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: ca.key.privateKey,
    signingAlgorithm: sigAlg(ca),
    extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey)],
  });
}

/**
 * Builds a certificate signed by `ca` that breaks one X.509-SVID rule. Intermediate kinds return a CA-ish
 * certificate plus its key (to sign a leaf below it).
 */
export async function badCert(ca: CertificateAuthority, kind: BadCertKind): Promise<{ cert: X509Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair('P-256');
  const id = `spiffe://${ca.trustDomain}/bad`;
  const leaf = (o: { ca?: boolean; usages?: number; uris?: string[]; eku?: string[] }): x509.Extension[] => [
    new x509.BasicConstraintsExtension(o.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(o.usages ?? KU.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(o.eku ?? [EKU.serverAuth, EKU.clientAuth]),
    san(o.uris ?? [id]),
  ];
  const table: Record<BadCertKind, () => x509.Extension[]> = {
    'wrong-leaf-ca-true': () => leaf({ ca: true }),
    'wrong-leaf-two-uri-sans': () => leaf({ uris: [id, `spiffe://${ca.trustDomain}/other`] }),
    'wrong-leaf-empty-id': () => leaf({ uris: [] }),
    'wrong-leaf-no-digital-signature': () => leaf({ usages: KU.keyEncipherment }),
    'wrong-leaf-cert-sign': () => leaf({ usages: KU.digitalSignature | KU.keyCertSign }),
    'wrong-leaf-crl-sign': () => leaf({ usages: KU.digitalSignature | KU.cRLSign }),
    'wrong-leaf-root-path-id': () => leaf({ uris: [`spiffe://${ca.trustDomain}`] }),
    'wrong-leaf-bad-spiffe-id': () => leaf({ uris: [`spiffe://${ca.trustDomain}/a/../b`] }),
    'wrong-leaf-server-auth-only': () => leaf({ eku: [EKU.serverAuth] }),
    'wrong-intermediate-no-ca': () => [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(KU.keyCertSign | KU.digitalSignature, true), san([`spiffe://${ca.trustDomain}`])],
    'wrong-intermediate-no-key-cert-sign': () => [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(KU.digitalSignature, true), san([`spiffe://${ca.trustDomain}`])],
  };
  const subject = kind.startsWith('wrong-intermediate') ? `CN=${kind}` : 'O=FlyMe';
  const extensions = [...(kind === 'wrong-leaf-empty-id' ? table[kind]().slice(0, 3) : table[kind]()), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  return { cert: await signCert(ca, keys, subject, extensions), keys };
}

/** A CertificateAuthority view of a (possibly bad) intermediate, to sign leaves below it in tests. */
export function asCA(parent: CertificateAuthority, cert: X509Certificate, keys: CryptoKeyPair): CertificateAuthority {
  return { cert, chain: [], key: keys, keyType: 'P-256', trustDomain: parent.trustDomain, isRoot: false, certPem: cert.toString('pem'), keyPem: '' };
}

/** A fresh temporary directory and its cleanup. */
export function tempDir(prefix = 'flyme-identity-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts a promise or function fails with a FlyMeError of `code`; returns the error for more checks. */
export async function rejectsWith(fn: () => unknown, code: string): Promise<{ code: string; message: string; data: Record<string, unknown> }> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: string; message: string; data: Record<string, unknown> };
    if (e.code !== code) throw new Error(`expected ${code} but got ${String(e.code)}: ${e.message}`);
    return e as { code: string; message: string; data: Record<string, unknown> };
  }
  throw new Error(`expected ${code} but nothing was thrown`);
}

/** An RpcServer listening on `url` behind `upgrader` with one method, `ping` (permission `whoami`) → `{ pong: true }`. */
export async function pingServer(url: string, upgrader: TlsServerUpgrader, options: RpcServerOptions = {}): Promise<RpcServer> {
  const server = new RpcServer(options);
  server.method({ name: 'ping', params: Type.Object({}), permission: 'whoami', handler: () => ({ pong: true }) });
  await server.listen(url, { secure: upgrader });
  return server;
}
