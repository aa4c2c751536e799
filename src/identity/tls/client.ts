/**
 * Client side of FlyMe mutual TLS 1.3: dial a `unix+tls://` or `tls://` address with an X.509-SVID, then verify
 * the server's SVID with FlyMe's chain verification (roots of the server's trust domain only) and an
 * {@link Authorizer} — the SPIFFE ID replaces hostname checks.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { statSync } from 'node:fs';
import { connect as tlsConnect, createSecureContext, type DetailedPeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { keyOfDers, lookupVerdict, presentedDers, rememberVerdict } from './peer-verdicts.js';
import { certificateInfo } from '../peer.js';
import { FlyMeError, flymeError } from '../../errors.js';
import { parseAddress, unixSocketPath } from '../../transport/address.js';
import { mapDialError } from '../../transport/dial.js';
import type { Authorizer } from '../authorizer.js';
import { loadSvid } from '../svid.js';
import { loadTrustBundle } from '../trust-bundle.js';
import { x509 } from '../x509.js';
import { verifyChain } from '../verify.js';
import { refusal, tlsErrorReason, verificationRefusal, verifyPeer } from './server.js';

/**
 * On a resumed TLS 1.3 session the client gets no server certificate from OpenSSL (Node's
 * `getPeerCertificate()` is empty): the ticket is bound to the handshake that verified it. We remember the
 * DER of the server leaf (and chain) each ticket was issued under, keyed by the ticket's SHA-256, and re-run
 * verifyChain + the authorizer on it when the session is resumed. Unknown ticket → refused (fail closed).
 */
const sessionPeers = new Map<string, Uint8Array[]>();
const MAX_SESSIONS = 1024;
const sessionKey = (session: Buffer): string => createHash('sha256').update(session).digest('hex');

function rememberSession(session: Buffer, chainDer: Uint8Array[]): void {
  const key = sessionKey(session);
  sessionPeers.delete(key);
  sessionPeers.set(key, chainDer);
  while (sessionPeers.size > MAX_SESSIONS) sessionPeers.delete(sessionPeers.keys().next().value!);
}

export interface DialTlsOptions {
  /** PEM: the client's leaf certificate, then intermediates. */
  certPath: string;
  keyPath: string;
  /** Trust bundle files (roots of the server's trust domain). */
  caPaths: string[];
  /** Which server SPIFFE IDs are accepted, e.g. `authorizeId('spiffe://flyme.local/flymed')`. */
  serverAuthorizer: Authorizer;
  /** Connect + handshake + verification deadline (default 5000 ms). */
  timeoutMs?: number;
  /** A TLS session from an earlier connection (see `onSession`) to resume. */
  session?: Buffer;
  /** Called with each TLS 1.3 session ticket the server sends (pass it back as `session`). */
  onSession?(session: Buffer): void;
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
  const { bundle, context } = await clientCredentials(opts);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const where = a.kind === 'tcp'
    ? { host: a.host, port: a.port, ...(isIP(a.host) === 0 ? { servername: a.host } : {}) }
    : { path: unixSocketPath(a) };
  return new Promise<TLSSocket>((resolve, reject) => {
    let done = false;
    let connected = false;
    const socket = tlsConnect({
      ...where,
      secureContext: context,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // The SPIFFE ID is checked instead of a host name (verifyPeer below).
      checkServerIdentity: () => undefined,
      ...(opts.session ? { session: opts.session } : {}),
    });
    let verifiedChainDer: Uint8Array[] | undefined;
    const pendingSessions: Buffer[] = [];
    socket.on('session', (session: Buffer) => {
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
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (done) return;
      if (!connected && err.syscall !== undefined) {
        fail(mapDialError(a, err));
        return;
      }
      fail(refusal(tlsErrorReason(err), `TLS handshake with ${url} failed: ${err.message}`, err, { address: url, tlsCode: err.code ?? null }));
    });
    socket.once('close', () => fail(refusal('handshake', `${url} closed the connection during the TLS handshake`, undefined, { address: url })));
    socket.once('secureConnect', () => {
      const resumed = socket.isSessionReused();
      const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate | Record<string, never> | null;
      const ders = peer && 'raw' in peer && peer.raw ? presentedDers(peer as DetailedPeerCertificate) : [];
      const presented: Uint8Array[] | undefined = ders.length ? ders.map((d) => new Uint8Array(d)) : undefined;
      const remembered = resumed && !presented && opts.session ? sessionPeers.get(sessionKey(opts.session)) : undefined;
      const check = remembered
        ? verifyRemembered(remembered, bundle, opts.serverAuthorizer)
        : verifyPeer(socket, bundle, opts.serverAuthorizer, 'server', peer).then(() => undefined);
      check.then(
        () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          verifiedChainDer = presented ?? remembered;
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

interface ClientCredentials { stamp: string; bundle: Awaited<ReturnType<typeof loadTrustBundle>>; context: SecureContext }
const credentialCache = new Map<string, ClientCredentials>();

/**
 * The client's SVID, trust bundle and TLS context, loaded once per set of files and reused while the
 * files are unchanged (size and mtime): a process dialling often pays for parsing, key import and context
 * creation once, and still picks up rotated files on the next dial.
 */
async function clientCredentials(opts: DialTlsOptions): Promise<ClientCredentials> {
  const files = [opts.certPath, opts.keyPath, ...opts.caPaths];
  const key = files.join('\0');
  const stamp = files.map((f) => { try { const st = statSync(f); return `${st.size}:${st.mtimeMs}`; } catch { return 'missing'; } }).join('|');
  const hit = credentialCache.get(key);
  if (hit && hit.stamp === stamp) return hit;
  const svid = await loadSvid(opts.certPath, opts.keyPath);
  const bundle = await loadTrustBundle(opts.caPaths);
  const context = createSecureContext({ cert: svid.certPem, key: svid.keyPem, ca: bundle.toPem(), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  const creds = { stamp, bundle, context };
  if (credentialCache.size >= 64) credentialCache.delete(credentialCache.keys().next().value!);
  credentialCache.set(key, creds);
  return creds;
}

async function verifyRemembered(chainDer: Uint8Array[], bundle: Awaited<ReturnType<typeof loadTrustBundle>>, authorizer: Authorizer): Promise<void> {
  try {
    const key = keyOfDers(chainDer);
    const known = lookupVerdict(bundle, key);
    if (known) {
      authorizer(known.spiffeId, known.chain);
      return;
    }
    const [leaf, ...rest] = chainDer.map((d) => new x509.X509Certificate(Uint8Array.from(d)));
    const verified = await verifyChain(leaf!, rest, bundle);
    authorizer(verified.spiffeId, verified.chain);
    rememberVerdict(bundle, key, { spiffeId: verified.spiffeId, chain: verified.chain, info: certificateInfo(leaf!, chainDer[0]!, verified.spiffeId) });
  } catch (err) {
    throw verificationRefusal(err, 'server');
  }
}
