/**
 * Connect: open a mutual TLS 1.3 connection with the service's own SVID to `address` (or the router) with
 * server name `sni`, accept the peer only when its SPIFFE ID owns a live registration carrying that SNI (the
 * registry's owner, never the peer's DNS name), close it after the handshake and report what was seen.
 */
import { performance } from 'node:perf_hooks';
import { FlyMeError, flymeError } from '../../errors.js';
import { authorizeOneOf } from '../../identity/authorizer.js';
import type { X509Source } from '../../identity/source/types.js';
import { dialTls } from '../../identity/tls/client.js';
import { parseSni, parseTarget, showTarget, tlsUrl, type Target } from './target.js';

export interface ConnectResult {
  peer_spiffe_id: string;
  tls_version: string;
  rtt_micros: number;
  via_router: boolean;
  dialed: string;
}

export interface Prober {
  /** The service's SVID (it is the client identity of every probe). */
  source: X509Source;
  /** The owners of the live registrations carrying TLS server name `sni` (none: empty). */
  owners(sni: string): Promise<string[]>;
  /** `--router IP:PORT`: used when a request has no address. */
  router?: Target;
  /** Connect + handshake + verification deadline (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * @throws FlyMeError FLYME_INVALID_PARAMS (address, sni), FLYME_NOT_FOUND (no live registration for sni),
 *   FLYME_ID_NOT_AUTHORIZED (the peer is not its owner), FLYME_UNTRUSTED_CERTIFICATE / FLYME_CERT_EXPIRED /
 *   FLYME_INVALID_CERTIFICATE, FLYME_UNREACHABLE, FLYME_TIMEOUT, FLYME_HANDSHAKE_FAILED.
 */
export async function probe(p: Prober, req: { address?: string; sni?: string }, deadlineMs?: number): Promise<ConnectResult> {
  const sni = parseSni(String(req.sni ?? ''));
  const address = String(req.address ?? '');
  let target: Target;
  let viaRouter = false;
  if (address) target = parseTarget(address);
  else if (p.router) { target = p.router; viaRouter = true; }
  else throw flymeError('FLYME_INVALID_PARAMS', 'address is required (host:port or [IPv6]:port): this service has no --router to use instead', { field: 'address' });
  const owners = [...new Set(await p.owners(sni))];
  if (owners.length === 0) throw flymeError('FLYME_NOT_FOUND', `no live registration for SNI ${sni}`, { sni });
  const timeoutMs = Math.max(1, Math.min(p.timeoutMs ?? 5000, deadlineMs === undefined ? Infinity : deadlineMs - Date.now()));
  const ownerCheck = authorizeOneOf(owners);
  let peer = '';
  const started = performance.now();
  let socket;
  try {
    socket = await dialTls(tlsUrl(target), {
      source: p.source, servername: sni, timeoutMs,
      serverAuthorizer: (id, chain) => { ownerCheck(id, chain); peer = id.toString(); },
    });
  } catch (err) {
    if (!(err instanceof FlyMeError)) throw err;
    const how = `${showTarget(target)}${viaRouter ? ' (the router)' : ''} with SNI ${sni}`;
    const what = err.code === 'FLYME_ID_NOT_AUTHORIZED'
      ? `the peer at ${how} is not the owner of ${sni} (registry: ${owners.join(', ')}): ${err.message}`
      : `connecting to ${how}: ${err.message}`;
    throw flymeError(err.code, what, { ...err.data, sni, owners }, err);
  }
  const rtt = Math.round((performance.now() - started) * 1000);
  const version = socket.getProtocol() ?? '';
  socket.destroy();
  return { peer_spiffe_id: peer, tls_version: version, rtt_micros: rtt, via_router: viaRouter, dialed: showTarget(target) };
}
