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
import { verdictKey } from '../verdicts.js';
import { refusal, verificationRefusal } from './refusal.js';
import { sessionPeerCertificate } from './session-peer.js';

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
  /** The DERs verified: the leaf alone when it verified alone (see verifyLeafFirst), else the presented chain. */
  ders: Uint8Array[];
  /** The chain as the peer presented it, read from the socket when asked (for re-verification after a bundle update). */
  presented?: () => Uint8Array[];
  verdict: Verdict;
}

/**
 * Verifies DERs (leaf first) against `bundle`, then runs `authorizer` on the SPIFFE ID. `key`: their
 * `verdictKey`, when the caller already has it.
 * @throws FlyMeError a refusal with `data.reason` (see refusal.ts).
 */
export async function verifyDers(ders: Uint8Array[], bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server', key?: string): Promise<VerifiedPeer> {
  if (ders.length === 0) throw refusal('no-certificate', `the ${who} presented no certificate`);
  try {
    const verdict = await verifyPresented(ders, bundle, Date.now(), key);
    authorizer(verdict.spiffeId, verdict.chain);
    return { cert: { ...verdict.info, der: ders[0]! }, ders, verdict };
  } catch (err) {
    throw verificationRefusal(err, who);
  }
}

/**
 * The leaf DER a peer presented, read cheaply: from the connection's session (see session-peer.ts: ~3 µs, and
 * the connection is left as it was), else from `getPeerCertificate(false)`, which describes the leaf only but
 * computes three fingerprints and the public key for it (~35 µs here), while the detailed form
 * `getPeerCertificate(true)` builds a JS object per certificate of the chain and looks the last issuer up in the
 * CA store (~70 µs).
 */
function presentedLeaf(socket: TLSSocket): Uint8Array | undefined {
  const session = socket.getSession();
  const leaf = session && sessionPeerCertificate(session);
  if (leaf) return leaf;
  const c = socket.getPeerCertificate(false) as Partial<DetailedPeerCertificate> | null;
  return c?.raw ? new Uint8Array(c.raw) : undefined;
}

/** Leaves whose verification needed the certificates presented with them (bounded, oldest out): no leaf-only try. */
const needsChain = new Set<string>();
const MAX_NEEDS_CHAIN = 1024;

/**
 * Verifies what a peer presented, reading its whole chain only when needed. An SVID issued by a root of the
 * bundle verifies from its leaf alone with the very verdict the presented chain gives (verifyChain tries the
 * bundle's roots before any presented certificate, so presented extras are never used for it); any other leaf —
 * one under an intermediate, or one that fails — is verified with the chain exactly as presented, so refusals,
 * their reasons and messages are those of the presented chain. The DERs returned are what was verified.
 */
async function verifyLeafFirst(leaf: Uint8Array, presented: () => Uint8Array[], bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server'): Promise<VerifiedPeer> {
  const leafKey = verdictKey([leaf]);
  if (!needsChain.has(leafKey)) {
    try {
      return { ...(await verifyDers([leaf], bundle, authorizer, who, leafKey)), presented };
    } catch {
      // fall through: the presented chain decides
    }
  }
  const ders = presented();
  const verified = await verifyDers(ders, bundle, authorizer, who);
  if (ders.length > 1 && !needsChain.has(leafKey)) {
    needsChain.add(leafKey);
    if (needsChain.size > MAX_NEEDS_CHAIN) needsChain.delete(needsChain.values().next().value!);
  }
  return verified;
}

/**
 * The DERs the client of a server-side `socket` presented, leaf first, on a **resumed** session.
 *
 * A resumed TLS 1.3 session carries the client's leaf certificate only (OpenSSL keeps no peer chain in a
 * ticket), so its DER is taken from `getPeerX509Certificate()`, which wraps the certificate OpenSSL already
 * holds, instead of `getPeerCertificate(true)`, which turns every certificate into a JS object (subject,
 * fingerprints, public key...) and looks issuers up in the CA store: about 0.1 ms per connection. Roots
 * come from the bundle in verification either way. A full handshake goes through {@link verifyPeer} (the leaf
 * first, the detailed chain only when needed): Node's `getPeerX509Certificate` would take issuers out of the
 * connection's peer chain as it reads them, which other readers of the socket would then miss.
 */
export function clientDers(socket: TLSSocket): Uint8Array[] {
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return presentedDers(socket.getPeerCertificate(true) as DetailedPeerCertificate | null);
  // Were a chain ever restored with the session, it is read here (it has left the connection by now).
  const out: Uint8Array[] = [];
  for (let c: X509Certificate | undefined = leaf; c && out.length < 16; c = c.issuerCertificate) {
    const der = new Uint8Array(c.raw);
    if (out.some((d) => Buffer.compare(d, der) === 0)) break;
    out.push(der);
  }
  return out;
}

/**
 * Verifies the certificate the peer of `socket` presented (see {@link verifyDers}). Never throws: it runs in a
 * TLS 'secure' handler, where a throw would be an uncaught exception; every failure is a rejected refusal.
 */
export async function verifyPeer(socket: TLSSocket, bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server'): Promise<VerifiedPeer> {
  const read = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw refusal('handshake', `cannot read the ${who} certificate: ${(err as Error)?.message ?? String(err)}`, err);
    }
  };
  // A resumed session on the server: the leaf OpenSSL restored from the ticket (see clientDers).
  if (who === 'client' && socket.isSessionReused()) return verifyDers(read(() => clientDers(socket)), bundle, authorizer, who);
  const leaf = read(() => presentedLeaf(socket));
  if (!leaf) return verifyDers([], bundle, authorizer, who);
  return verifyLeafFirst(leaf, () => read(() => presentedDers(socket.getPeerCertificate(true) as DetailedPeerCertificate | null)), bundle, authorizer, who);
}

/**
 * Verifies the server a client `socket` reached. `presented` is the detailed certificate Node's client built for
 * its `checkServerIdentity` call on a full handshake (Node builds it whatever the callback does: reading it again
 * would cost the same ~0.3 ms twice). On a resumed session OpenSSL gives the client no certificate: then
 * `remembered`, the DERs verified on the connection whose ticket was resumed. Neither: refused (`no-certificate`).
 */
export async function verifyServer(socket: TLSSocket, presented: DetailedPeerCertificate | undefined, remembered: () => Uint8Array[] | undefined, bundle: TrustBundle, authorizer: Authorizer): Promise<VerifiedPeer> {
  let ders: Uint8Array[];
  try {
    ders = presentedDers(presented ?? (socket.isSessionReused() ? undefined : (socket.getPeerCertificate(true) as DetailedPeerCertificate | null)));
  } catch (err) {
    throw refusal('handshake', `cannot read the server certificate: ${(err as Error)?.message ?? String(err)}`, err);
  }
  if (ders.length === 0 && socket.isSessionReused()) ders = remembered() ?? [];
  return verifyDers(ders, bundle, authorizer, 'server');
}
