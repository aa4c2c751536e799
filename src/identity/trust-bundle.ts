import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { flymeError } from '../errors.js';
import { readUriSans } from './cert-fields.js';
import { certToPem } from './profile.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { checkSigningCertificate, parseCertificates } from './validate.js';
import type { X509Certificate } from './x509.js';

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

  private constructor(anchors: TrustAnchor[]) {
    this.anchors = Object.freeze(anchors);
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
      const digest = createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex');
      if (seen.has(digest)) return;
      seen.add(digest);
      anchors.push(anchorFor(cert, td, `certificate #${i + 1}`));
    });
    return new TrustBundle(anchors);
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
