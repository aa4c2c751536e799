/**
 * Verifies the certificate chain a TLS peer presented with FlyMe's rules (roots picked by the leaf's trust
 * domain, SVID rules, validity, revocation) through the shared verification cache, then the authorizer.
 */
import type { X509Certificate } from 'node:crypto';
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
 * The DERs the client of a server-side `socket` presented, leaf first.
 *
 * A resumed TLS 1.3 session carries the client's leaf certificate only (OpenSSL keeps no peer chain in a
 * ticket), so its DER is taken from `getPeerX509Certificate()`, which wraps the certificate OpenSSL already
 * holds, instead of `getPeerCertificate(true)`, which turns every certificate into a JS object (subject,
 * fingerprints, public key...) and looks issuers up in the CA store: about 0.1 ms per connection. Roots
 * come from the bundle in verification either way. On a full handshake (a peer chain present) the detailed
 * form is kept: Node's `getPeerX509Certificate` takes issuers out of the connection's peer chain as it reads
 * them, which other readers of the socket would then miss.
 */
export function clientDers(socket: TLSSocket): Uint8Array[] {
  if (socket.isSessionReused()) {
    const leaf = socket.getPeerX509Certificate();
    if (leaf) {
      // Were a chain ever restored with the session, it is read here (it has left the connection by now).
      const out: Uint8Array[] = [];
      for (let c: X509Certificate | undefined = leaf; c && out.length < 16; c = c.issuerCertificate) {
        const der = new Uint8Array(c.raw);
        if (out.some((d) => Buffer.compare(d, der) === 0)) break;
        out.push(der);
      }
      return out;
    }
  }
  return presentedDers(socket.getPeerCertificate(true) as DetailedPeerCertificate | null);
}

/**
 * Verifies the certificate the peer of `socket` presented (see {@link verifyDers}). Never throws: it runs in a
 * TLS 'secure' handler, where a throw would be an uncaught exception; every failure is a rejected refusal.
 */
export async function verifyPeer(socket: TLSSocket, bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server'): Promise<VerifiedPeer> {
  let ders: Uint8Array[];
  try {
    ders = who === 'client' ? clientDers(socket) : presentedDers(socket.getPeerCertificate(true) as DetailedPeerCertificate | null);
  } catch (err) {
    throw refusal('handshake', `cannot read the ${who} certificate: ${(err as Error)?.message ?? String(err)}`, err);
  }
  return verifyDers(ders, bundle, authorizer, who);
}
