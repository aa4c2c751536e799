/**
 * The verified identity of a gRPC peer from its certificate. grpc-js exposes only the leaf (no chain),
 * so the leaf must be issued directly by a root of the trust bundle; OpenSSL has already checked the
 * chain during the handshake and FlyMe checks it again, with the X.509-SVID rules, then runs the
 * authorizer. Results are cached per certificate (bounded) so a call costs a map lookup.
 */
import type { PeerCertificate } from 'node:tls';
import type { CertificateIdentity } from '../auth/principal.js';
import { FlyMeError, flymeError } from '../errors.js';
import type { Authorizer } from '../identity/authorizer.js';
import { certificateInfo } from '../identity/peer.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import { verifyChain } from '../identity/verify.js';
import { x509 } from '../identity/x509.js';

const MAX_CACHED = 1024;

export class PeerVerifier {
  readonly #cache = new Map<string, { identity: CertificateIdentity; until: number } | { error: FlyMeError; until: number }>();

  constructor(private readonly bundle: () => TrustBundle, private readonly authorizer: Authorizer) {}

  /** Throws FlyMeError (FLYME_UNAUTHENTICATED, FLYME_UNTRUSTED_CERTIFICATE, FLYME_CERT_EXPIRED, FLYME_ID_NOT_AUTHORIZED, …). */
  async verify(cert: PeerCertificate | undefined): Promise<CertificateIdentity> {
    // grpc-js exposes the certificate only when OpenSSL verified it against the CA bundle.
    if (!cert?.raw) throw flymeError('FLYME_UNAUTHENTICATED', 'no verified client certificate: none was sent, or it failed verification against the CA bundle (unknown CA, expired, not yet valid)');
    const key = cert.fingerprint256;
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) {
      if ('error' in hit) throw hit.error;
      return hit.identity;
    }
    let entry: { identity: CertificateIdentity; until: number } | { error: FlyMeError; until: number };
    try {
      const leaf = new x509.X509Certificate(Uint8Array.from(cert.raw));
      const { spiffeId } = await verifyChain(leaf, [], this.bundle());
      this.authorizer(spiffeId, [leaf]);
      entry = { identity: certificateInfo(leaf, cert.raw, spiffeId), until: Math.min(leaf.notAfter.getTime(), now + 60_000) };
    } catch (e) {
      const error = e instanceof FlyMeError ? e : flymeError('FLYME_INVALID_CERTIFICATE', `client certificate refused: ${(e as Error).message}`);
      entry = { error, until: now + 5_000 };
    }
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, entry);
    if ('error' in entry) throw entry.error;
    return entry.identity;
  }

  /** Forget cached verdicts (after the trust bundle changed). */
  clear(): void {
    this.#cache.clear();
  }
}
