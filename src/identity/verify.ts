import { flymeError } from '../errors.js';
import { canSignCertificates, readBasicConstraints, readUriSans } from './cert-fields.js';
import { SpiffeId } from './spiffe-id.js';
import { TrustBundle } from './trust-bundle.js';
import { assertSvid } from './validate.js';
import { lookupVerdict, rememberVerdict, verdictKey, type Verdict } from './verdicts.js';
import { x509, type X509Certificate } from './x509.js';

/** Options for {@link verifyChain}. */
export interface VerifyChainOptions {
  /** The time to check validity at (injectable for tests); default now. */
  now?: Date;
  /** Most intermediates followed; default 8. */
  maxIntermediates?: number;
  /** Use the verification cache (default true when `roots` is a TrustBundle and `now` is not injected). */
  cache?: boolean;
}

/** A verified chain: the leaf's SPIFFE ID and the path leaf → … → root. */
export interface VerifiedChain {
  spiffeId: SpiffeId;
  chain: X509Certificate[];
}

async function signedBy(child: X509Certificate, parent: X509Certificate): Promise<boolean> {
  if (child.issuer !== parent.subject) return false;
  try {
    return await child.verify({ publicKey: parent.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function untrusted(message: string, reason: string): never {
  throw flymeError('FLYME_UNTRUSTED_CERTIFICATE', message, { reason });
}

function checkIssuer(cert: X509Certificate, role: 'intermediate' | 'root', below: number, td: string): void {
  if (!canSignCertificates(cert)) untrusted(`${role} certificate ${cert.subject} is not a CA (needs cA=true and keyCertSign)`, `${role}-not-ca`);
  const { pathLength } = readBasicConstraints(cert);
  if (pathLength !== undefined && below > pathLength) untrusted(`${role} certificate ${cert.subject} allows ${pathLength} intermediates below it but the chain has ${below}`, 'path-length');
  const [uri] = readUriSans(cert).uris;
  if (role === 'intermediate' && uri !== undefined && SpiffeId.parse(uri).trustDomain !== td) {
    untrusted(`intermediate certificate ${cert.subject} belongs to trust domain ${SpiffeId.parse(uri).trustDomain}, not ${td}`, 'foreign-trust-domain');
  }
}

function checkTime(cert: X509Certificate, role: string, now: Date): void {
  if (now < cert.notBefore) {
    throw flymeError('FLYME_CERT_EXPIRED', `${role} certificate is not yet valid (notBefore ${cert.notBefore.toISOString()}, now ${now.toISOString()})`, { reason: 'not-yet-valid', role, notBefore: cert.notBefore.toISOString() });
  }
  if (now > cert.notAfter) {
    throw flymeError('FLYME_CERT_EXPIRED', `${role} certificate expired at ${cert.notAfter.toISOString()} (now ${now.toISOString()})`, { reason: 'expired', role, notAfter: cert.notAfter.toISOString() });
  }
}

/**
 * Verifies an X.509-SVID: the leaf follows the SVID rules, each certificate is signed by the next, every
 * issuer is a CA (cA=true, keyCertSign, path length respected, same trust domain), the path ends at a root of
 * the **leaf's** trust domain, and every certificate on it is valid at `now`.
 * @param roots a {@link TrustBundle}, or root certificates that each carry a `spiffe://td` URI SAN.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE (leaf breaks an SVID rule), FLYME_UNTRUSTED_CERTIFICATE (no
 *   path to a root of the leaf's trust domain; `data.reason`), FLYME_CERT_EXPIRED (`data.reason` is
 *   `expired` or `not-yet-valid`); FLYME_UNTRUSTED_CERTIFICATE with reason `revoked` when a revocation list
 *   of the bundle, signed by the issuer, lists a certificate of the path.
 * @example const { spiffeId } = await verifyChain(leaf, intermediates, bundle)
 */
export async function verifyChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: TrustBundle | readonly X509Certificate[],
  opts: VerifyChainOptions = {},
): Promise<VerifiedChain> {
  const now = opts.now ?? new Date();
  const max = opts.maxIntermediates ?? 8;
  const spiffeId = assertSvid(leaf);
  const td = spiffeId.trustDomain;
  const bundle = roots instanceof TrustBundle ? roots : TrustBundle.fromCertificates(roots);
  const cacheable = opts.cache !== false && roots instanceof TrustBundle && opts.maxIntermediates === undefined && opts.now === undefined;
  const key = cacheable ? verdictKey([leaf, ...intermediates].map((c) => new Uint8Array(c.rawData))) : undefined;
  const hit = key ? lookupVerdict(bundle, key, now.getTime()) : undefined;
  if (hit) return { spiffeId, chain: hit.chain };
  const anchors = bundle.rootsFor(td);
  if (anchors.length === 0) untrusted(`no trusted root for trust domain ${td}`, 'no-roots-for-trust-domain');

  const chain: X509Certificate[] = [leaf];
  const unused = [...intermediates];
  let current = leaf;
  for (;;) {
    let root: X509Certificate | undefined;
    for (const r of anchors) if (await signedBy(current, r)) { root = r; break; }
    if (root) {
      checkIssuer(root, 'root', chain.length - 1, td);
      chain.push(root);
      break;
    }
    if (chain.length - 1 >= max) untrusted(`chain is longer than ${max} intermediates`, 'too-long');
    let next: X509Certificate | undefined;
    for (const c of unused) if (await signedBy(current, c)) { next = c; break; }
    if (!next) untrusted(`certificate chain of ${spiffeId.toString()} does not lead to a trusted root of trust domain ${td}`, 'unknown-authority');
    checkIssuer(next, 'intermediate', chain.length - 1, td);
    unused.splice(unused.indexOf(next), 1);
    chain.push(next);
    current = next;
  }
  chain.forEach((c, i) => checkTime(c, i === 0 ? 'leaf' : i === chain.length - 1 ? 'root' : 'intermediate', now));
  for (let i = 0; i + 1 < chain.length; i++) {
    if (await bundle.isRevoked(chain[i]!, chain[i + 1]!)) {
      untrusted(`${i === 0 ? 'certificate' : 'intermediate'} ${chain[i]!.serialNumber.toLowerCase()} of ${spiffeId.toString()} is revoked`, 'revoked');
    }
  }
  if (key) rememberVerdict(bundle, key, spiffeId, chain, new Uint8Array(leaf.rawData));
  return { spiffeId, chain };
}

/**
 * Verifies a chain given as DER bytes (leaf first, as a TLS peer or an `x5c` header presents it), through
 * the verification cache: the same bytes under the same bundle skip parsing and signature checks. `key`:
 * `verdictKey(ders)`, when the caller already has it.
 * @throws FlyMeError as {@link verifyChain}; FLYME_INVALID_CERTIFICATE when the bytes do not parse.
 */
export async function verifyPresented(ders: readonly Uint8Array[], bundle: TrustBundle, now = Date.now(), key = verdictKey(ders)): Promise<Verdict> {
  if (ders.length === 0) throw flymeError('FLYME_UNAUTHENTICATED', 'no certificate was presented');
  const hit = lookupVerdict(bundle, key, now);
  if (hit) return hit;
  let certs: X509Certificate[];
  try {
    certs = ders.map((d) => new x509.X509Certificate(Uint8Array.from(d)));
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `certificate cannot be parsed: ${(err as Error).message}`, { rule: 'corrupt' }, err);
  }
  const [leaf, ...rest] = certs;
  const verified = await verifyChain(leaf!, rest, bundle, { now: new Date(now), cache: false });
  return rememberVerdict(bundle, key, verified.spiffeId, verified.chain, ders[0]!);
}
