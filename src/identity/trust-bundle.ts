import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { flymeError } from '../errors.js';
import { readUriSans } from './cert-fields.js';
import { certToPem } from './profile.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { checkSigningCertificate, parseCertificates } from './validate.js';
import { x509, type X509Certificate } from './x509.js';

/** One trusted root and the trust domain it vouches for. */
export interface TrustAnchor {
  cert: X509Certificate;
  trustDomain: string;
}

/** Options for {@link loadTrustBundle} and {@link parseTrustBundle}. */
export interface TrustBundleOptions {
  /**
   * Trust domain of roots that carry no `spiffe://td` URI SAN. Roots that carry one must match it.
   * Without it, such roots are refused (a root is never trusted for every trust domain).
   */
  trustDomain?: string;
  /** Certificate revocation lists (DER or parsed); see {@link TrustBundle.isRevoked}. */
  crls?: readonly (Uint8Array | x509.X509Crl)[];
}

function anchorFor(cert: X509Certificate, td: string | undefined, where: string): TrustAnchor {
  const [violation] = checkSigningCertificate(cert);
  if (violation) throw flymeError('FLYME_INVALID_CERTIFICATE', `trust bundle ${where}: not a CA certificate: ${violation.message}`, { rule: violation.code });
  const [uri] = readUriSans(cert).uris;
  const own = uri === undefined ? undefined : SpiffeId.parse(uri).trustDomain;
  if (own !== undefined && td !== undefined && own !== td) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `trust bundle ${where}: root is for trust domain ${own}, not ${td}`, { rule: 'foreign-trust-domain' });
  }
  const trustDomain = own ?? td;
  if (trustDomain === undefined) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `trust bundle ${where}: root has no spiffe://<trust-domain> URI SAN; name its trust domain explicitly`, { rule: 'uri-san-count' });
  }
  return { cert, trustDomain };
}

/**
 * A set of trusted roots, possibly several per trust domain (old and new root during rotation), deduplicated.
 * Verification picks roots by the leaf's trust domain only ({@link TrustBundle.rootsFor}), never from one
 * global pool. Immutable: reloading builds a new bundle, so a broken file never empties the old one.
 */
export class TrustBundle {
  readonly anchors: readonly TrustAnchor[];
  /** Revocation lists; a CRL counts only for certificates of the issuer whose key signed it. */
  readonly crls: readonly x509.X509Crl[];

  private constructor(anchors: TrustAnchor[], crls: x509.X509Crl[]) {
    this.anchors = Object.freeze(anchors);
    this.crls = Object.freeze(crls);
  }

  /**
   * Builds a bundle from parsed certificates.
   * @throws FlyMeError FLYME_INVALID_CERTIFICATE for an empty list, a non-CA, or a root without a trust domain.
   */
  static fromCertificates(certs: readonly X509Certificate[], opts: TrustBundleOptions = {}): TrustBundle {
    const td = opts.trustDomain === undefined ? undefined : parseTrustDomain(opts.trustDomain);
    if (certs.length === 0) throw flymeError('FLYME_INVALID_CERTIFICATE', 'trust bundle is empty');
    const seen = new Set<string>();
    const anchors: TrustAnchor[] = [];
    certs.forEach((cert, i) => {
      const digest = derDigest(cert);
      if (seen.has(digest)) return;
      seen.add(digest);
      anchors.push(anchorFor(cert, td, `certificate #${i + 1}`));
    });
    return new TrustBundle(anchors, parseCrls(opts.crls ?? []));
  }

  /**
   * One bundle from several (e.g. one per trust domain from the Workload API), roots deduplicated, CRLs
   * kept once each.
   */
  static combine(bundles: readonly TrustBundle[], crls: readonly (Uint8Array | x509.X509Crl)[] = []): TrustBundle {
    const seen = new Set<string>();
    const anchors: TrustAnchor[] = [];
    for (const b of bundles) {
      for (const a of b.anchors) {
        const key = `${a.trustDomain}|${derDigest(a.cert)}`;
        if (!seen.has(key)) { seen.add(key); anchors.push(a); }
      }
    }
    if (anchors.length === 0) throw flymeError('FLYME_INVALID_CERTIFICATE', 'trust bundle is empty');
    const all = [...bundles.flatMap((b) => b.crls), ...parseCrls(crls)];
    const crlSeen = new Set<string>();
    return new TrustBundle(anchors, all.filter((c) => {
      const d = createHash('sha256').update(new Uint8Array(c.rawData)).digest('hex');
      if (crlSeen.has(d)) return false;
      crlSeen.add(d);
      return true;
    }));
  }

  /** The same roots with these revocation lists instead of the current ones. */
  withCrls(crls: readonly (Uint8Array | x509.X509Crl)[]): TrustBundle {
    return new TrustBundle([...this.anchors], parseCrls(crls));
  }

  /**
   * True when a CRL signed by `issuer`'s key lists `cert`'s serial. A CRL whose signature does not verify
   * with that key revokes nothing (no forged revocations), and the verdict per (CRL, issuer) is cached.
   */
  async isRevoked(cert: X509Certificate, issuer: X509Certificate): Promise<boolean> {
    if (this.crls.length === 0) return false;
    const serial = cert.serialNumber.toLowerCase().replace(/^0+/, '');
    for (const crl of this.crls) {
      if (crl.issuer !== issuer.subject) continue;
      if (!crl.entries.some((e) => e.serialNumber.toLowerCase().replace(/^0+/, '') === serial)) continue;
      if (await crlSignedBy(crl, issuer)) return true;
    }
    return false;
  }

  /** Every root certificate. */
  get roots(): X509Certificate[] {
    return this.anchors.map((a) => a.cert);
  }

  /** The trust domains this bundle has roots for. */
  get trustDomains(): string[] {
    return [...new Set(this.anchors.map((a) => a.trustDomain))];
  }

  /** Roots that may anchor a certificate of trust domain `td` (empty when there are none: fail closed). */
  rootsFor(td: string): X509Certificate[] {
    return this.anchors.filter((a) => a.trustDomain === td).map((a) => a.cert);
  }

  /** All roots as PEM, e.g. for `tls.createSecureContext({ ca })`. */
  toPem(): string {
    return this.anchors.map((a) => certToPem(a.cert)).join('');
  }
}

const crlVerdicts = new WeakMap<x509.X509Crl, Map<string, Promise<boolean>>>();

function crlSignedBy(crl: x509.X509Crl, issuer: X509Certificate): Promise<boolean> {
  let m = crlVerdicts.get(crl);
  if (!m) crlVerdicts.set(crl, (m = new Map()));
  const key = derDigest(issuer);
  let v = m.get(key);
  if (!v) {
    v = crl.verify({ publicKey: issuer.publicKey }).catch(() => false);
    m.set(key, v);
  }
  return v;
}

function derDigest(cert: X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex');
}

function parseCrls(list: readonly (Uint8Array | x509.X509Crl)[]): x509.X509Crl[] {
  return list.map((c, i) => {
    if (c instanceof x509.X509Crl) return c;
    try {
      return new x509.X509Crl(Uint8Array.from(c));
    } catch (err) {
      throw flymeError('FLYME_INVALID_CERTIFICATE', `revocation list #${i + 1} cannot be parsed: ${(err as Error).message}`, { index: i }, err);
    }
  });
}

/** Parses a bundle from PEM text (one or more CERTIFICATE blocks). */
export function parseTrustBundle(pem: string, opts: TrustBundleOptions = {}): TrustBundle {
  return TrustBundle.fromCertificates(parseCertificates(pem), opts);
}

/**
 * Loads a trust bundle from one or more sources; each is PEM text (contains `-----BEGIN`) or a file path.
 * Several roots are allowed (rotation); duplicates are dropped.
 * @throws FlyMeError FLYME_INVALID_CONFIG (unreadable file) or FLYME_INVALID_CERTIFICATE (empty, not PEM,
 *   corrupt, a private key, a non-CA).
 * @example const bundle = await loadTrustBundle(['/etc/flyme/certs/root-ca.pem', '/etc/flyme/certs/new-root.pem'])
 */
export async function loadTrustBundle(sources: string | readonly string[], opts: TrustBundleOptions = {}): Promise<TrustBundle> {
  const list = typeof sources === 'string' ? [sources] : sources;
  const certs: X509Certificate[] = [];
  for (const source of list) {
    if (source.includes('-----BEGIN')) {
      certs.push(...parseCertificates(source));
      continue;
    }
    let text: string;
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw flymeError('FLYME_INVALID_CONFIG', `cannot read trust bundle ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: source }, err);
    }
    try {
      certs.push(...parseCertificates(text));
    } catch (err) {
      throw flymeError('FLYME_INVALID_CERTIFICATE', `trust bundle ${source}: ${(err as Error).message}`, { path: source }, err);
    }
  }
  return TrustBundle.fromCertificates(certs, opts);
}
