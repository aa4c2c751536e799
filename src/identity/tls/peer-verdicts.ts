/**
 * Verdicts of verified TLS peers keyed by the exact DER bytes they presented, per trust bundle object (a
 * reloaded bundle starts empty). A peer that connects again with the same certificate skips parsing and
 * chain verification; its validity window is checked on every hit and the authorizer always runs.
 * Bounded (oldest forgotten first); only successes are remembered.
 */
import { createHash } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import type { PeerCertificateInfo } from '../peer.js';
import type { SpiffeId } from '../spiffe-id.js';
import type { TrustBundle } from '../trust-bundle.js';
import type { X509Certificate } from '../x509.js';

export interface PeerVerdict {
  spiffeId: SpiffeId;
  chain: X509Certificate[];
  info: PeerCertificateInfo;
  notBefore: number;
  notAfter: number;
}

const verdicts = new WeakMap<TrustBundle, Map<string, PeerVerdict>>();
const MAX = 1024;

/** The DERs a peer presented, leaf first (Node's issuer links, without parsing; at most 16). */
export function presentedDers(peer: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  for (let c: DetailedPeerCertificate | undefined = peer; c?.raw && !seen.has(c) && seen.size < 16; c = c.issuerCertificate) {
    seen.add(c);
    out.push(c.raw);
  }
  return out;
}

/** sha256 over DERs (leaf first), without parsing them. */
export function keyOfDers(ders: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const d of ders) h.update(d);
  return h.digest('hex');
}

export const presentedKey = (peer: DetailedPeerCertificate): string => keyOfDers(presentedDers(peer));

export function lookupVerdict(bundle: TrustBundle, key: string, now = Date.now()): PeerVerdict | undefined {
  const v = verdicts.get(bundle)?.get(key);
  return v && now >= v.notBefore && now <= v.notAfter ? v : undefined;
}

export function rememberVerdict(bundle: TrustBundle, key: string, v: Omit<PeerVerdict, 'notBefore' | 'notAfter'>): void {
  let m = verdicts.get(bundle);
  if (!m) verdicts.set(bundle, (m = new Map()));
  if (m.size >= MAX) m.delete(m.keys().next().value!);
  m.set(key, { ...v, notBefore: Math.max(...v.chain.map((c) => c.notBefore.getTime())), notAfter: Math.min(...v.chain.map((c) => c.notAfter.getTime())) });
}
