/**
 * Server side of FlyMe mutual TLS 1.3: a {@link SecureUpgrader} for `listen()` that wraps accepted sockets in
 * TLS, then verifies the client's X.509-SVID with FlyMe's own chain verification (roots picked by the leaf's
 * trust domain, not Node's single CA pool, revocation lists honoured) and an {@link Authorizer}. Its identity
 * comes from an {@link X509Source}: a rotation or bundle update reaches new handshakes at once and live
 * connections within the sweep interval (see live.ts).
 *
 * Session resumption: one SecureContext (and thus one set of OpenSSL ticket keys) per identity material serves
 * every new connection, so a client presenting a TLS 1.3 ticket from an earlier connection resumes. On a
 * resumed session OpenSSL restores the peer certificate from the ticket, and the same checks run against the
 * *current* bundle and authorizer. New material starts new ticket keys: older tickets no longer resume.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { sweepPeriodMs } from '../../duration.js';
import { FlyMeError, flymeError } from '../../errors.js';
import type { PeerCertificateInfo, SecureUpgrader } from '../../transport/listener.js';
import type { Authorizer } from '../authorizer.js';
import { filesX509Source } from '../source/files.js';
import type { X509Source } from '../source/types.js';
import type { TrustBundle } from '../trust-bundle.js';
import { serverContext } from './contexts.js';
import { DeadlineSweep } from './deadlines.js';
import { LiveConnections, type InvalidatedPeer } from './live.js';
import { HandshakeLosses, refusal, tlsErrorReason } from './refusal.js';
import { verifyPeer } from './verify-peer.js';

export { refusal, tlsErrorReason, verificationRefusal, type TlsRefusalReason } from './refusal.js';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options of a TLS server over an identity source. */
export interface TlsServerOptions {
  /** The server's SVID and the trust bundle client certificates are checked against. */
  source: X509Source;
  /** Which client SPIFFE IDs may connect (there is no implicit allow-all). */
  authorizer: Authorizer;
  /** Handshake deadline (default 10000 ms); a handshake is dropped up to a quarter of it (at most 250 ms) later. */
  handshakeTimeoutMs?: number;
  /** ALPN protocols to select from (gRPC needs `['h2']`); none by default. */
  alpnProtocols?: string[];
  /** How often live connections are checked for expired peers (default 1000 ms). */
  sweepMs?: number;
  /** A live connection whose peer no longer verifies: close it (default: destroy) and report it. */
  onPeerInvalidated?(p: InvalidatedPeer): void;
  /** Close the source with the upgrader (default false; true when the upgrader created it). */
  ownsSource?: boolean;
  /**
   * Hand connections whose client certificate was refused (none, unknown CA, expired, ID not authorized) to
   * the owner with `refusal` set instead of closing them at once, so a protocol such as gRPC can answer each
   * call with a clear status. Such a connection is closed after the handshake timeout. Default false.
   */
  deferRefusal?: boolean;
}

/** The files form (kept for `TlsServerUpgrader.load`): paths instead of a source. */
export interface TlsServerFilesOptions extends Omit<TlsServerOptions, 'source' | 'ownsSource'> {
  /** PEM: the server's leaf certificate, then intermediates. */
  certPath: string;
  /** PEM PKCS#8 private key matching the leaf. */
  keyPath: string;
  /** Trust bundle files (roots of the trust domains whose clients may connect). */
  caPaths: string[];
}

/** Events reported by {@link TlsServerUpgrader.watch}. */
export type TlsReloadEvent =
  | { type: 'reloaded'; serial: string; notAfter: string }
  | { type: 'reload-failed'; error: FlyMeError };

/**
 * Upgrades accepted sockets to mutual TLS 1.3 and verifies the client's X.509-SVID.
 * @example
 * const upgrader = new TlsServerUpgrader({ source: await certsDirSource('/etc/flyme/certs', 'server'), authorizer: authorizeMemberOf('flyme.local') })
 * await server.listen('unix+tls:///run/flyme/flyme.sock', { secure: upgrader })
 */
export class TlsServerUpgrader implements SecureUpgrader {
  readonly source: X509Source;
  readonly live: LiveConnections;
  readonly #unsubscribe: () => void;
  readonly #handshakeTimeoutMs: number;
  /** Handshake deadlines (one interval for all, see deadlines.ts). */
  readonly #deadlines: DeadlineSweep;

  constructor(private readonly opts: TlsServerOptions) {
    this.source = opts.source;
    serverContext(opts.source.material()); // fail now, not at the first handshake
    this.live = new LiveConnections(() => this.opts.authorizer, opts.onPeerInvalidated, opts.sweepMs);
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    // A handshake times out at most a quarter of its timeout (and at most 250 ms) late.
    this.#deadlines = new DeadlineSweep(sweepPeriodMs(this.#handshakeTimeoutMs));
    this.#unsubscribe = opts.source.onUpdate(async (m) => { await this.live.recheck(m.bundle); });
  }

  /**
   * Loads and checks the certificate, key and CA bundle files (the key must match, the certificate must
   * chain to the bundle) and watches them.
   * @throws FlyMeError FLYME_INVALID_CONFIG / FLYME_INVALID_CERTIFICATE.
   */
  static async load(opts: TlsServerFilesOptions): Promise<TlsServerUpgrader> {
    const { certPath, keyPath, caPaths, ...rest } = opts;
    const source = await filesX509Source({ certPath, keyPath, bundlePaths: caPaths });
    return new TlsServerUpgrader({ ...rest, source, ownsSource: true });
  }

  /** Serial of the certificate presented to new connections (lowercase hex). */
  get currentSerial(): string {
    return this.source.svid().chain[0]!.serialNumber.toLowerCase();
  }

  /** notAfter of the certificate presented to new connections. */
  get notAfter(): Date {
    return this.source.svid().chain[0]!.notAfter;
  }

  /** SPIFFE ID of the server certificate. */
  get spiffeId(): string {
    return this.source.svid().spiffeId.toString();
  }

  /** The trust bundle client certificates are checked against. */
  get bundle(): TrustBundle {
    return this.source.bundle();
  }

  upgrade(raw: Socket): Promise<{ socket: TLSSocket; cert?: PeerCertificateInfo; resumed: boolean; refusal?: FlyMeError }> {
    const material = this.source.material();
    const authorizer = this.opts.authorizer;
    const timeoutMs = this.#handshakeTimeoutMs;
    const defer = this.opts.deferRefusal === true;
    return new Promise((resolve, reject) => {
      const socket = new TLSSocket(raw, {
        isServer: true, secureContext: serverContext(material), requestCert: true, rejectUnauthorized: !defer,
        ...(this.opts.alpnProtocols ? { ALPNProtocols: this.opts.alpnProtocols } : {}),
      });
      let done = false;
      const fail = (err: FlyMeError): void => {
        if (done) return;
        done = true;
        this.#deadlines.cancel(deadline);
        socket.destroy();
        raw.destroy();
        reject(err);
      };
      const deadline = this.#deadlines.add(timeoutMs, () => fail(refusal('timeout', `TLS handshake did not finish within ${timeoutMs} ms`, undefined, { timeoutMs })));
      // Once the handshake is done, the certificate verdict (not a close racing it) decides the refusal reason.
      const losses = new HandshakeLosses(fail, () => refusal('handshake', 'the connection closed during the TLS handshake'));
      socket.on('error', (err: NodeJS.ErrnoException & { reason?: string }) => {
        if (done) return; // after the upgrade the connection owner handles errors
        losses.lose(refusal(tlsErrorReason(err), `TLS handshake failed: ${err.message}`, err, { tlsCode: err.code ?? null }));
      });
      socket.once('close', () => {
        if (!done) losses.closed(); // done: the usual end of an upgraded connection, no refusal to build
      });
      socket.once('secure', () => {
        if (done) return;
        losses.verifying();
        // Node's own verdict (one global CA pool) first, then FlyMe's per-trust-domain verification.
        const nodeError = (socket as unknown as { _handle?: { verifyError?(): (Error & { code?: string }) | null } })._handle?.verifyError?.();
        const deferred = (err: FlyMeError): boolean => {
          if (!defer || done || losses.lost || socket.destroyed || err.data.reason === 'handshake') return false;
          done = true;
          this.#deadlines.cancel(deadline);
          (socket as unknown as { secureConnecting: boolean }).secureConnecting = false;
          setTimeout(() => socket.destroy(), timeoutMs).unref();
          resolve({ socket, resumed: socket.isSessionReused(), refusal: err });
          return true;
        };
        verifyPeer(socket, material.bundle, authorizer, 'client').then(
          (peer) => {
            if (done) return;
            if (nodeError) {
              const err = refusal(tlsErrorReason(nodeError), `client certificate refused by TLS: ${nodeError.message}`, nodeError);
              if (!deferred(err)) fail(err);
              return;
            }
            const gone = losses.gone(socket);
            if (gone) {
              fail(gone);
              return;
            }
            done = true;
            this.#deadlines.cancel(deadline);
            // A TLSSocket wrapped without a tls.Server never clears this flag; consumers such as http2 would
            // wait for a 'secureConnect' that never comes. The handshake is complete and verified.
            (socket as unknown as { secureConnecting: boolean }).secureConnecting = false;
            // Re-verified against the chain the client presented (read from the socket only if a bundle update asks).
            this.live.add(socket, peer.presented ?? peer.ders, peer.cert, peer.verdict.notAfter);
            // The source may have been updated while we verified: check this peer against what is in force now.
            const now = this.source.bundle();
            if (now !== material.bundle) void this.live.recheck(now);
            resolve({ socket, cert: peer.cert, resumed: socket.isSessionReused() });
          },
          (err: FlyMeError) => { if (!deferred(err)) fail(err); },
        );
      });
    });
  }

  /**
   * Asks the source to load again now; when everything is valid new connections get the new certificate
   * (and live ones are re-verified against the new bundle). An invalid set throws and the current stays.
   */
  async reload(): Promise<void> {
    if (!this.source.reload) throw flymeError('FLYME_INVALID_CONFIG', 'this identity source is updated by its provider, not reloaded on request');
    await this.source.reload('request');
  }

  /** Reports every update and every refused update of the source. Returns a function that stops reporting. */
  watch(onEvent: (e: TlsReloadEvent) => void = () => undefined): () => void {
    const offUpdate = this.source.onUpdate(() => onEvent({ type: 'reloaded', serial: this.currentSerial, notAfter: this.notAfter.toISOString() }));
    const offError = this.source.onError((error) => onEvent({ type: 'reload-failed', error }));
    return () => { offUpdate(); offError(); };
  }

  /** Stops the live-connection sweeper and source subscriptions (and the source when the upgrader owns it). */
  close(): void {
    this.#unsubscribe();
    this.live.close();
    if (this.opts.ownsSource) this.source.close();
  }
}
