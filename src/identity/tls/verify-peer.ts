/**
 * Verifies the certificate chain a TLS peer presented with FlyMe's rules (roots picked by the leaf's trust
 * domain, SVID rules, validity, revocation) through the shared verification cache, then the authorizer.
 */
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { PeerCertificateInfo } from '../../transport/listener.js';
import type { Authorizer } from '../authorizer.js';
import type { TrustBundle } from '../trust-bundle.js';
import type { Verdict } from '../verdicts.js';
import { verifyPresented } from '../verify.js';
import { refusal, verificationRefusal } from './refusal.js';

/** The DERs a peer presented, leaf first (Node's issuer links, without parsing; at most 16). */
export function presentedDers(peer: DetailedPeerCertificate | Record<string, never> | null | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  let c: DetailedPeerCertificate | undefined = peer && 'raw' in peer ? (peer as DetailedPeerCertificate) : undefined;
  for (; c?.raw && !seen.has(c) && seen.size < 16; c = c.issuerCertificate) {
    seen.add(c);
    out.push(new Uint8Array(c.raw));
  }
  return out;
}

/** A verified peer: its certificate description (with the leaf DER) and the presented DERs. */
export interface VerifiedPeer {
  cert: PeerCertificateInfo;
  ders: Uint8Array[];
  verdict: Verdict;
}

/**
 * Verifies DERs (leaf first) against `bundle`, then runs `authorizer` on the SPIFFE ID.
 * @throws FlyMeError a refusal with `data.reason` (see refusal.ts).
 */
export async function verifyDers(ders: Uint8Array[], bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server'): Promise<VerifiedPeer> {
  if (ders.length === 0) throw refusal('no-certificate', `the ${who} presented no certificate`);
  try {
    const verdict = await verifyPresented(ders, bundle);
    authorizer(verdict.spiffeId, verdict.chain);
    return { cert: { ...verdict.info, der: ders[0]! }, ders, verdict };
  } catch (err) {
    throw verificationRefusal(err, who);
  }
}

/**
 * Verifies the certificate the peer of `socket` presented (see {@link verifyDers}). Never throws: it runs in a
 * TLS 'secure' handler, where a throw would be an uncaught exception; every failure is a rejected refusal.
 */
export async function verifyPeer(socket: TLSSocket, bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server'): Promise<VerifiedPeer> {
  let ders: Uint8Array[];
  try {
    ders = presentedDers(socket.getPeerCertificate(true) as DetailedPeerCertificate | null);
  } catch (err) {
    throw refusal('handshake', `cannot read the ${who} certificate: ${(err as Error)?.message ?? String(err)}`, err);
  }
  return verifyDers(ders, bundle, authorizer, who);
}
