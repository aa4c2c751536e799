/**
 * How an agent reaches its CA: in-process (`flyme agent --ca local`) or over mutual TLS to `flyme ca serve`.
 * Either way the agent sees its registration entries, bundle, revocation lists and JWT keys as a stream of
 * states, and asks the CA to sign for entries whose parent it is.
 */
import { x509 } from '../../identity/x509.js';
import { generateKeyPair, exportPrivateKeyPem, type CryptoKeyPair } from '../../identity/keys.js';
import type { Entry } from '../../ca/entries.js';

export interface CaState {
  trustDomain: string;
  entries: Entry[];
  /** DER roots. */
  roots: Uint8Array[];
  /** DER CRLs. */
  crls: Uint8Array[];
  /** JWK Set (JSON bytes) of the JWT-SVID keys. */
  jwtBundle: Uint8Array;
}

export interface Minted {
  /** DER, leaf first. */
  chain: Uint8Array[];
  expiresAt: number;
}

export interface CaLink {
  readonly agentId: string;
  /** `fn` gets the latest state now (when known) and after every change. Returns an unsubscribe function. */
  onState(fn: (s: CaState) => void): () => void;
  mintX509(entryId: string, csr: Uint8Array): Promise<Minted>;
  mintJwt(entryId: string, audience: readonly string[]): Promise<{ token: string; expiresAt: number }>;
  close(): Promise<void>;
}

/** A new P-256 key pair and a DER CSR for it (the CA uses only the public key; the name is not read). */
export async function keyAndCsr(): Promise<{ keys: CryptoKeyPair; csr: Uint8Array; keyPem: string }> {
  const keys = await generateKeyPair('P-256');
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'O=FlyMe', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  return { keys, csr: new Uint8Array(req.rawData), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** DER certificates → PEM text. */
export function derToPem(ders: readonly Uint8Array[]): string {
  return ders.map((d) => `${x509.PemConverter.encode(Uint8Array.from(d).buffer, 'CERTIFICATE')}\n`).join('');
}
