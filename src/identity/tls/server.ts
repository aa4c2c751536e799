/**
 * Server side of FlyMe mutual TLS 1.3: a {@link SecureUpgrader} for `listen()` that wraps accepted sockets in
 * TLS, then verifies the client's X.509-SVID with FlyMe's own chain verification (roots picked by the leaf's
 * trust domain, not Node's single CA pool) and an {@link Authorizer}. Credentials can be reloaded at run time.
 *
 * Session resumption: one SecureContext (and thus one set of OpenSSL ticket keys) serves every new connection,
 * so a client presenting a TLS 1.3 ticket from an earlier connection resumes. On a resumed session OpenSSL
 * restores the peer certificate from the ticket, so `getPeerCertificate()` still returns the client's leaf and
 * the same verifyChain + authorizer checks run (against the *current* bundle and authorizer, with the current
 * clock). A reload installs a new context with fresh ticket keys: tickets issued before it no longer resume.
 */
import { createHash, randomBytes } from 'node:crypto';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import type { Socket } from 'node:net';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { createSecureContext, TLSSocket, type DetailedPeerCertificate, type SecureContext } from 'node:tls';
import { FlyMeError, flymeError, type FlyMeErrorCode } from '../../errors.js';
import type { PeerCertificateInfo, SecureUpgrader } from '../../transport/listener.js';
import type { Authorizer } from '../authorizer.js';
import { certificateInfo } from '../peer.js';
import { loadSvid, type LoadedSvid } from '../svid.js';
import { loadTrustBundle, type TrustBundle } from '../trust-bundle.js';
import { verifyChain } from '../verify.js';
import { x509, type X509Certificate } from '../x509.js';
import { lookupVerdict, presentedKey, rememberVerdict } from './peer-verdicts.js';

/** Why a TLS connection was refused (`err.data.reason`). */
export type TlsRefusalReason =
  | 'no-certificate' | 'unknown-ca' | 'expired' | 'id-not-authorized' | 'tls-version' | 'timeout' | 'invalid-certificate' | 'handshake';

export interface TlsServerOptions {
  /** PEM: the server's leaf certificate, then intermediates. */
  certPath: string;
  /** PEM PKCS#8 private key matching the leaf. */
  keyPath: string;
  /** Trust bundle files (roots of the trust domains whose clients may connect). */
  caPaths: string[];
  /** Which client SPIFFE IDs may connect (there is no implicit allow-all). */
  authorizer: Authorizer;
  /** Handshake deadline (default 10000 ms). */
  handshakeTimeoutMs?: number;
}

/** Events reported by {@link TlsServerUpgrader.watch}. */
export type TlsReloadEvent =
  | { type: 'reloaded'; serial: string; notAfter: string }
  | { type: 'reload-failed'; error: FlyMeError };

interface Credentials {
  svid: LoadedSvid;
  bundle: TrustBundle;
  context: SecureContext;
}

const OPENSSL_REASONS: ReadonlyArray<[RegExp, TlsRefusalReason]> = [
  [/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED|NO_CERTIFICATE/i, 'no-certificate'],
  [/UNSUPPORTED_PROTOCOL|WRONG_VERSION|VERSION_TOO_LOW|VERSION_TOO_HIGH|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE/i, 'tls-version'],
  [/CERT_HAS_EXPIRED|CERTIFICATE_EXPIRED|CERT_NOT_YET_VALID/i, 'expired'],
  [/UNKNOWN_CA|UNABLE_TO_GET_ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY_LEAF|CERTIFICATE_VERIFY_FAILED|BAD_CERTIFICATE/i, 'unknown-ca'],
];

/** Maps an OpenSSL / Node TLS error (its `code`, `reason` or message) to a refusal reason. */
export function tlsErrorReason(err: { code?: string; reason?: string; message?: string }): TlsRefusalReason {
  const text = `${err.code ?? ''} ${err.reason ?? ''} ${err.message ?? ''}`.replace(/ /g, '_');
  for (const [re, reason] of OPENSSL_REASONS) if (re.test(text)) return reason;
  return 'handshake';
}

/** A FlyMeError for a refusal; keeps a specific catalog code when there is one, adds `data.reason`. */
export function refusal(reason: TlsRefusalReason, message: string, cause?: unknown, extra: Record<string, unknown> = {}): FlyMeError {
  const code: FlyMeErrorCode =
    reason === 'timeout' ? 'FLYME_TIMEOUT'
    : reason === 'id-not-authorized' ? 'FLYME_ID_NOT_AUTHORIZED'
    : reason === 'unknown-ca' ? 'FLYME_UNTRUSTED_CERTIFICATE'
    : reason === 'expired' ? 'FLYME_CERT_EXPIRED'
    : reason === 'invalid-certificate' ? 'FLYME_INVALID_CERTIFICATE'
    : 'FLYME_HANDSHAKE_FAILED';
  return flymeError(code, message, { ...extra, reason }, cause);
}

/** Maps a FlyMeError from verifyChain or an authorizer to a refusal. */
export function verificationRefusal(err: unknown, who: 'client' | 'server'): FlyMeError {
  if (!(err instanceof FlyMeError)) return refusal('handshake', `${who} certificate check failed: ${(err as Error)?.message ?? String(err)}`, err);
  const reason: TlsRefusalReason =
    err.code === 'FLYME_ID_NOT_AUTHORIZED' ? 'id-not-authorized'
    : err.code === 'FLYME_CERT_EXPIRED' ? 'expired'
    : err.code === 'FLYME_UNTRUSTED_CERTIFICATE' ? 'unknown-ca'
    : err.code === 'FLYME_INVALID_CERTIFICATE' || err.code === 'FLYME_INVALID_SPIFFE_ID' ? 'invalid-certificate'
    : 'handshake';
  return refusal(reason, `${who} certificate refused: ${err.message}`, err, { ...err.data });
}

/** The leaf and the issuer chain (leaf excluded, self-signed root excluded) a TLS peer presented. */
export function peerChain(socket: TLSSocket): { leaf: X509Certificate; intermediates: X509Certificate[]; der: Uint8Array } | undefined {
  const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate | Record<string, never> | null;
  if (!peer || !('raw' in peer) || !peer.raw) return undefined;
  const der = new Uint8Array(peer.raw);
  const leaf = new x509.X509Certificate(Uint8Array.from(der));
  const intermediates: X509Certificate[] = [];
  const seen = new Set<string>([createHash('sha256').update(peer.raw).digest('hex')]);
  let next: DetailedPeerCertificate | undefined = peer.issuerCertificate;
  while (next && next.raw && intermediates.length < 16) {
    const digest = createHash('sha256').update(next.raw).digest('hex');
    if (seen.has(digest)) break;
    seen.add(digest);
    try { intermediates.push(new x509.X509Certificate(Uint8Array.from(next.raw))); } catch { break; }
    next = next.issuerCertificate;
  }
  return { leaf, intermediates, der };
}

/**
 * Verifies the certificate the peer of `socket` presented: SVID rules, chain to a root of the leaf's trust
 * domain in `bundle`, validity, then `authorizer`. Throws a refusal FlyMeError (see {@link refusal}).
 */
export async function verifyPeer(socket: TLSSocket, bundle: TrustBundle, authorizer: Authorizer, who: 'client' | 'server',
  presented = socket.getPeerCertificate(true) as DetailedPeerCertificate | Record<string, never> | null): Promise<PeerCertificateInfo> {
  const key = presented && 'raw' in presented && presented.raw ? presentedKey(presented as DetailedPeerCertificate) : undefined;
  const known = key ? lookupVerdict(bundle, key) : undefined;
  if (known) {
    try {
      authorizer(known.spiffeId, known.chain);
    } catch (err) {
      throw verificationRefusal(err, who);
    }
    return { ...known.info, der: new Uint8Array((presented as DetailedPeerCertificate).raw) };
  }
  let chain: ReturnType<typeof peerChain>;
  try {
    chain = peerChain(socket);
  } catch (err) {
    throw refusal('invalid-certificate', `${who} certificate cannot be parsed: ${(err as Error).message}`, err);
  }
  if (!chain) throw refusal('no-certificate', `the ${who} presented no certificate`);
  try {
    const verified = await verifyChain(chain.leaf, chain.intermediates, bundle);
    authorizer(verified.spiffeId, verified.chain);
    const info = certificateInfo(chain.leaf, chain.der, verified.spiffeId);
    if (key) rememberVerdict(bundle, key, { spiffeId: verified.spiffeId, chain: verified.chain, info });
    return { ...info, der: chain.der };
  } catch (err) {
    throw verificationRefusal(err, who);
  }
}

async function loadCredentials(opts: Pick<TlsServerOptions, 'certPath' | 'keyPath' | 'caPaths'>): Promise<Credentials> {
  if (opts.caPaths.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'TLS needs at least one CA bundle file');
  const svid = await loadSvid(opts.certPath, opts.keyPath);
  const bundle = await loadTrustBundle(opts.caPaths);
  try {
    await verifyChain(svid.chain[0]!, svid.chain.slice(1), bundle);
  } catch (err) {
    const e = err as FlyMeError;
    throw flymeError('FLYME_INVALID_CONFIG', `${opts.certPath}: the server certificate does not verify against the CA bundle: ${e.message}`, { path: opts.certPath, ...(e.data ?? {}) }, err);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      cert: svid.certPem,
      key: svid.keyPem,
      ca: bundle.toPem(),
      ticketKeys: randomBytes(48),
    });
  } catch (err) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot build a TLS context from ${opts.certPath}: ${(err as Error).message}`, { path: opts.certPath }, err);
  }
  // OpenSSL refuses to resume a session on a context that verifies peers unless a session ID context is set.
  (context as unknown as { context: { setSessionIdContext(id: string): void } }).context.setSessionIdContext('flyme-mtls');
  return { svid, bundle, context };
}

/**
 * Upgrades accepted sockets to mutual TLS 1.3 and verifies the client's X.509-SVID.
 * @example
 * const upgrader = await TlsServerUpgrader.load({ certPath, keyPath, caPaths: [rootPem], authorizer: authorizeMemberOf('flyme.local') })
 * await server.listen('unix+tls:///run/flyme/flyme-tls.sock', { secure: upgrader })
 */
export class TlsServerUpgrader implements SecureUpgrader {
  private creds: Credentials;
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: TlsServerOptions, creds: Credentials) {
    this.creds = creds;
  }

  /**
   * Loads and checks the certificate, key and CA bundle (the key must match, the certificate must chain to
   * the bundle).
   * @throws FlyMeError FLYME_INVALID_CONFIG / FLYME_INVALID_CERTIFICATE.
   */
  static async load(opts: TlsServerOptions): Promise<TlsServerUpgrader> {
    return new TlsServerUpgrader({ ...opts, caPaths: [...opts.caPaths] }, await loadCredentials(opts));
  }

  /** Serial of the certificate presented to new connections (lowercase hex). */
  get currentSerial(): string {
    return this.creds.svid.chain[0]!.serialNumber.toLowerCase();
  }

  /** notAfter of the certificate presented to new connections. */
  get notAfter(): Date {
    return this.creds.svid.chain[0]!.notAfter;
  }

  /** SPIFFE ID of the server certificate. */
  get spiffeId(): string {
    return this.creds.svid.spiffeId.toString();
  }

  /** The trust bundle client certificates are checked against. */
  get bundle(): TrustBundle {
    return this.creds.bundle;
  }

  upgrade(raw: Socket): Promise<{ socket: TLSSocket; cert: PeerCertificateInfo; resumed: boolean }> {
    const { context, bundle } = this.creds;
    const authorizer = this.opts.authorizer;
    const timeoutMs = this.opts.handshakeTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: true });
      let done = false;
      const fail = (err: FlyMeError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        raw.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(refusal('timeout', `TLS handshake did not finish within ${timeoutMs} ms`, undefined, { timeoutMs })), timeoutMs);
      // Once the handshake is done, the certificate verdict (not a close racing it) decides the refusal reason.
      let verifying = false;
      let lost: FlyMeError | undefined;
      socket.on('error', (err: NodeJS.ErrnoException & { reason?: string }) => {
        if (done) return; // after the upgrade the connection owner handles errors
        const e = refusal(tlsErrorReason(err), `TLS handshake failed: ${err.message}`, err, { tlsCode: err.code ?? null });
        if (verifying) lost ??= e;
        else fail(e);
      });
      socket.once('close', () => {
        const e = refusal('handshake', 'the connection closed during the TLS handshake');
        if (verifying) lost ??= e;
        else fail(e);
      });
      socket.once('secure', () => {
        if (done) return;
        verifying = true;
        // Node's own verdict (one global CA pool) first, then FlyMe's per-trust-domain verification.
        const nodeError = (socket as unknown as { _handle?: { verifyError?(): (Error & { code?: string }) | null } })._handle?.verifyError?.();
        verifyPeer(socket, bundle, authorizer, 'client').then(
          (cert) => {
            if (done) return;
            if (nodeError) {
              fail(refusal(tlsErrorReason(nodeError), `client certificate refused by TLS: ${nodeError.message}`, nodeError));
              return;
            }
            if (lost || socket.destroyed) {
              fail(lost ?? refusal('handshake', 'the connection closed during the TLS handshake'));
              return;
            }
            done = true;
            clearTimeout(timer);
            resolve({ socket, cert, resumed: socket.isSessionReused() });
          },
          (err: FlyMeError) => fail(err),
        );
      });
    });
  }

  /**
   * Loads the files again and, when everything is valid, serves the new certificate to NEW connections
   * (existing ones keep theirs). An invalid set throws and the current credentials stay.
   */
  reload(): Promise<void> {
    const run = this.reloading.then(async () => {
      this.creds = await loadCredentials(this.opts);
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /**
   * Watches the directories of the certificate, key and CA files and reloads (debounced 100 ms) when one of
   * them changes. Returns a function that stops watching (as {@link close} does).
   */
  watch(onEvent: (e: TlsReloadEvent) => void = () => undefined, debounceMs = 100): () => void {
    this.close();
    const files = [this.opts.certPath, this.opts.keyPath, ...this.opts.caPaths].map((f) => resolvePath(f));
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const set = byDir.get(dirname(f)) ?? new Set<string>();
      set.add(basename(f));
      byDir.set(dirname(f), set);
    }
    const trigger = (): void => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.reload().then(
          () => onEvent({ type: 'reloaded', serial: this.currentSerial, notAfter: this.notAfter.toISOString() }),
          (err: unknown) => onEvent({ type: 'reload-failed', error: err instanceof FlyMeError ? err : flymeError('FLYME_INVALID_CONFIG', String((err as Error)?.message ?? err), undefined, err) }),
        );
      }, debounceMs);
      this.debounce.unref();
    };
    for (const [dir, names] of byDir) {
      const w = fsWatch(dir, { persistent: false }, (_event, name) => {
        // Editors and `mv` replace files under temporary names; react to any name we watch (or unknown).
        if (name === null || names.has(name.toString())) trigger();
      });
      w.on('error', () => undefined);
      this.watchers.push(w);
    }
    return () => this.close();
  }

  /** Stops watching files. Does not touch connections. */
  close(): void {
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
