/**
 * Client side of FlyMe mutual TLS 1.3: dial a `unix+tls://` or `tls://` address with an X.509-SVID, then verify
 * the server's SVID with FlyMe's chain verification (roots of the server's trust domain only) and an
 * {@link Authorizer} — the SPIFFE ID replaces hostname checks.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls';
import { FlyMeError, flymeError } from '../../errors.js';
import { parseAddress, unixSocketPath } from '../../transport/address.js';
import { mapDialError } from '../../transport/dial.js';
import type { Authorizer } from '../authorizer.js';
import { filesX509Source, type X509Files } from '../source/files.js';
import type { X509Source } from '../source/types.js';
import { clientContext } from './contexts.js';
import { sha256Hex } from '../verdicts.js';
import { HandshakeLosses, refusal, tlsErrorReason } from './refusal.js';
import { verifyServer } from './verify-peer.js';
import { sessionWithoutPeer } from './session-peer.js';

/**
 * On a resumed TLS 1.3 session the client gets no server certificate from OpenSSL (Node's
 * `getPeerCertificate()` is empty): the ticket is bound to the handshake that verified it. We remember the
 * DER of the server leaf (and chain) each ticket was issued under, keyed by the ticket's SHA-256, and re-run
 * verifyChain + the authorizer on it when the session is resumed. Unknown ticket → refused (fail closed).
 */
const sessionPeers = new Map<string, Uint8Array[]>();
const MAX_SESSIONS = 1024;
const sessionKey = (session: Buffer): string => sha256Hex(session);

function rememberSession(session: Buffer, chainDer: Uint8Array[]): void {
  const key = sessionKey(session);
  sessionPeers.delete(key);
  sessionPeers.set(key, chainDer);
  while (sessionPeers.size > MAX_SESSIONS) sessionPeers.delete(sessionPeers.keys().next().value!);
}

export interface DialTlsOptions {
  /** The client's SVID and the bundle the server is checked against (rotation reaches the next dial). */
  source?: X509Source;
  /** Or files: PEM leaf then intermediates (loaded once per set of paths, then watched). */
  certPath?: string;
  keyPath?: string;
  /** Trust bundle files (roots of the server's trust domain). */
  caPaths?: string[];
  /** Which server SPIFFE IDs are accepted, e.g. `authorizeId('spiffe://flyme.local/flymed')`. */
  serverAuthorizer: Authorizer;
  /** Connect + handshake + verification deadline (default 5000 ms). */
  timeoutMs?: number;
  /** A TLS session from an earlier connection (see `onSession`) to resume. */
  session?: Buffer;
  /**
   * Called with each TLS 1.3 session ticket the server sends (pass it back as `session`): OpenSSL's encoding of
   * the session without the server's certificate (the server of a resumed session is verified again from the
   * chain this process verified when the ticket came; resuming in another process is refused).
   */
  onSession?(session: Buffer): void;
  /** ALPN protocols to offer (e.g. `['h2']`). */
  alpnProtocols?: string[];
  /** TLS server name (SNI) to send; default: the host of a `tls://` address when it is a name, none for an IP. */
  servername?: string;
}

const fileSources = new Map<string, Promise<X509Source>>();

function sourceOf(opts: DialTlsOptions): Promise<X509Source> {
  if (opts.source) return Promise.resolve(opts.source);
  if (!opts.certPath || !opts.keyPath || !opts.caPaths?.length) {
    return Promise.reject(flymeError('FLYME_INVALID_CONFIG', 'dialTls needs an identity: { source } or { certPath, keyPath, caPaths }'));
  }
  return sharedFilesSource({ certPath: opts.certPath, keyPath: opts.keyPath, bundlePaths: opts.caPaths });
}

/**
 * The client X509Source of a set of files, shared by every dial in this process (watched, so rotation is
 * seen by the next dial; at most 16 sets are kept).
 */
export function sharedFilesSource(files: X509Files): Promise<X509Source> {
  const key = JSON.stringify(files);
  let p = fileSources.get(key);
  if (!p) {
    p = filesX509Source(files, { verifyOwn: false }); // the server judges our certificate, not us
    fileSources.set(key, p);
    p.catch(() => fileSources.delete(key));
    while (fileSources.size > 16) {
      const [oldest, old] = fileSources.entries().next().value!;
      fileSources.delete(oldest);
      old.then((s) => s.close(), () => undefined);
    }
  }
  return p;
}

/**
 * Opens a mutual TLS 1.3 connection and verifies the server.
 * @throws FlyMeError FLYME_UNREACHABLE / FLYME_SOCKET_ACCESS_DENIED (dial), FLYME_TIMEOUT,
 *   FLYME_UNTRUSTED_CERTIFICATE / FLYME_CERT_EXPIRED / FLYME_ID_NOT_AUTHORIZED (server certificate),
 *   FLYME_HANDSHAKE_FAILED (other TLS failures); all with `data.reason`.
 * @example const client = await connect(url, { socket: await dialTls(url, { certPath, keyPath, caPaths, serverAuthorizer }) })
 */
export async function dialTls(url: string, opts: DialTlsOptions): Promise<TLSSocket> {
  const a = parseAddress(url);
  if (!a.tls) throw flymeError('FLYME_INVALID_CONFIG', `${url} is not a TLS address (use unix+tls:// or tls://)`, { address: url });
  const material = (await sourceOf(opts)).material();
  const bundle = material.bundle;
  const context = clientContext(material);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const where = a.kind === 'tcp'
    ? { host: a.host, port: a.port, ...(isIP(a.host) === 0 ? { servername: a.host } : {}) }
    : { path: unixSocketPath(a) };
  if (opts.servername !== undefined) Object.assign(where, { servername: opts.servername });
  return new Promise<TLSSocket>((resolve, reject) => {
    let done = false;
    let connected = false;
    let presented: DetailedPeerCertificate | undefined;
    const socket = tlsConnect({
      ...where,
      secureContext: context,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // The SPIFFE ID is checked instead of a host name (verifyServer below), on the certificate Node hands here.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => { presented = cert as DetailedPeerCertificate; return undefined; },
      ...(opts.alpnProtocols ? { ALPNProtocols: opts.alpnProtocols } : {}),
    });
    // The session is set here rather than as tls.connect's `session` option: Node sets that option twice (once in
    // the TLSSocket constructor, once after), and each decodes the session with its server certificate again
    // (~6 % of a resumed connection's client CPU). The handshake starts only once the socket is connected.
    if (opts.session) {
      try {
        (socket as TLSSocket & { setSession(session: Buffer): void }).setSession(opts.session); // what tls.connect itself calls
      } catch (err) {
        socket.destroy();
        throw flymeError('FLYME_INVALID_CONFIG', `the TLS session to resume cannot be used: ${(err as Error).message}`, { address: url }, err);
      }
    }
    let verifiedChainDer: Uint8Array[] | undefined;
    const pendingSessions: Buffer[] = [];
    socket.on('session', (ticket: Buffer) => {
      // Without the server's certificate, which resuming would decode again for nothing (see session-peer.ts).
      const session = sessionWithoutPeer(ticket);
      // Tickets can arrive before our asynchronous server check finished: hand them out only once verified.
      if (verifiedChainDer) {
        rememberSession(session, verifiedChainDer);
        opts.onSession?.(session);
      } else {
        pendingSessions.push(session);
      }
    });
    const fail = (err: FlyMeError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(refusal('timeout', `timed out connecting to ${url} (TLS)`, undefined, { address: url, timeoutMs })), timeoutMs);
    socket.once('connect', () => { connected = true; });
    // Once our side of the handshake is done, our verdict on the server (not a close or an alert racing it, e.g.
    // a server that hangs up at once, or refuses our certificate) decides the refusal reason; as on the server side.
    const losses = new HandshakeLosses(fail, () => refusal('handshake', `${url} closed the connection during the TLS handshake`, undefined, { address: url }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (done) return;
      if (!connected && err.syscall !== undefined) {
        fail(mapDialError(a, err));
        return;
      }
      losses.lose(refusal(tlsErrorReason(err), `TLS handshake with ${url} failed: ${err.message}`, err, { address: url, tlsCode: err.code ?? null }));
    });
    socket.once('close', () => { if (!done) losses.closed(); });
    socket.once('secureConnect', () => {
      losses.verifying();
      const remembered = () => (opts.session ? sessionPeers.get(sessionKey(opts.session)) : undefined);
      verifyServer(socket, presented, remembered, bundle, opts.serverAuthorizer).then(
        (peer) => {
          if (done) return;
          const gone = losses.gone(socket);
          if (gone) {
            fail(gone);
            return;
          }
          done = true;
          clearTimeout(timer);
          verifiedChainDer = peer.ders;
          if (verifiedChainDer) {
            for (const sess of pendingSessions.splice(0)) {
              rememberSession(sess, verifiedChainDer);
              opts.onSession?.(sess);
            }
          }
          resolve(socket);
        },
        (err: unknown) => fail(err instanceof FlyMeError ? err : refusal('handshake', String(err))),
      );
    });
  });
}
