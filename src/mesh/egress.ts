/**
 * The egress proxy of `flyme service`: a plain local (loopback) port per upstream. Each local connection is
 * forwarded over mutual TLS with the service's own SVID to a live registry record of the upstream (or to an
 * SNI router), with the record's SNI, and only once the upstream presented the SPIFFE ID the registry names
 * as the record's owner. Nothing from the local client reaches the network before that check, and a refused
 * upstream never sees a byte of it: the local connection is closed without data.
 */
import { createServer, isIP, isIPv6, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FlyMeError, flymeError } from '../errors.js';
import { authorizeId } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { dialTls } from '../identity/tls/client.js';
import { isLoopbackHost } from '../transport/address.js';
import { canonicalName, isDnsName } from './names.js';
import type { RegistryClient, RemoteRecord } from './registry-client.js';

export { parseUpstreams, type Upstream } from './upstreams.js';

export interface EgressOptions {
  /** Plain TCP listen address; loopback only unless allowRemote (refuse otherwise with FLYME_INVALID_ADDRESS). */
  listen: { host: string; port: number };
  allowRemote?: boolean;
  /**
   * The registry name of the upstream, e.g. service-b.example.org. Absent: an HTTP CONNECT proxy, where each
   * client names its upstream (`CONNECT service-b.example.org:443 HTTP/1.1`; the port is the registry's).
   */
  upstream?: string;
  /** Looks up the live records (RegistryClient satisfies it). */
  registry: Pick<RegistryClient, 'resolve'>;
  /** The service's own SVID (client certificate) and trust bundle; rotation reaches the next connection. */
  source: X509Source;
  /** Connect here (an SNI router) instead of the record's address; the SNI still selects the upstream. */
  router?: { host: string; port: number };
  /** ALPN to offer upstream (default ['h2']: flyme service ports are gRPC). */
  alpn?: string[];
  /** Upstream connect + handshake deadline (default 5000 ms), most concurrent connections (default 256). */
  timeoutMs?: number;
  maxConnections?: number;
  /** One event per refused / failed / accepted connection (kind, upstream, peer id, reason) for logs. */
  onEvent?(e: EgressEvent): void;
}

/**
 * What happened to one local connection. `accepted`: the upstream proved the owner's SPIFFE ID, bytes flow.
 * `refused`: the upstream's certificate was refused (another SPIFFE ID, untrusted, expired, invalid) or the
 * proxy is full. `failed`: no live record, the registry or the upstream unreachable, a timeout.
 */
export interface EgressEvent {
  kind: 'accepted' | 'refused' | 'failed';
  upstream: string;
  /** The local client, `host:port`. */
  client: string;
  /** Where the proxy dialed (`host:port` of the record or the router), when it got that far. */
  target?: string;
  /** The SNI sent. */
  sni?: string;
  /** The SPIFFE ID the registry names as the record's owner (what the upstream had to present). */
  expectedId?: string;
  /** The SPIFFE ID the upstream presented, when known (the owner once accepted; the wrong one when refused for it). */
  peerId?: string;
  /** The FlyMe error code and message of a refusal or failure. */
  code?: string;
  reason?: string;
}

export interface EgressProxy {
  host: string;
  port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Resolve results are reused for at most this long (and never past a record's expiry). */
const RESOLVE_CACHE_MS = 1000;

const REFUSALS = new Set(['FLYME_ID_NOT_AUTHORIZED', 'FLYME_UNTRUSTED_CERTIFICATE', 'FLYME_CERT_EXPIRED', 'FLYME_INVALID_CERTIFICATE']);
const hostPort = (host: string, port: number) => `${isIPv6(host) ? `[${host}]` : host}:${port}`;

function checkOptions(o: EgressOptions): void {
  const bad = (why: string) => flymeError('FLYME_INVALID_CONFIG', `egress proxy for ${String(o.upstream).slice(0, 300)}: ${why}`);
  const { host, port } = o.listen ?? ({} as EgressOptions['listen']);
  if (typeof host !== 'string' || host.length === 0) throw bad('listen host is required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad(`listen port ${String(port)} is not in 0-65535`);
  if (!o.allowRemote && !isLoopbackHost(host)) {
    throw flymeError('FLYME_INVALID_ADDRESS', `refusing to listen on ${hostPort(host, port)}: the egress proxy is plain TCP (anyone who reaches it speaks with this service's identity), so it listens on loopback only (127.0.0.0/8 or ::1)`, { address: hostPort(host, port) });
  }
  if (o.upstream !== undefined && (typeof o.upstream !== 'string' || !isDnsName(canonicalName(o.upstream)))) throw bad('upstream is not a DNS name');
  if (o.router && (typeof o.router.host !== 'string' || !o.router.host || !Number.isInteger(o.router.port) || o.router.port < 1 || o.router.port > 65535)) throw bad('router needs a host and a port in 1-65535');
  if (o.timeoutMs !== undefined && !(Number.isInteger(o.timeoutMs) && o.timeoutMs > 0)) throw bad(`timeoutMs ${o.timeoutMs} is not a positive integer`);
  if (o.maxConnections !== undefined && !(Number.isInteger(o.maxConnections) && o.maxConnections > 0)) throw bad(`maxConnections ${o.maxConnections} is not a positive integer`);
  if (o.alpn !== undefined && (!Array.isArray(o.alpn) || o.alpn.some((p) => typeof p !== 'string' || p.length === 0 || p.length > 255))) throw bad('alpn must be a list of 1-255 byte protocol names');
}

/** Live records of one name: a resolve shared by concurrent connections, reused ≤ 1 s, never past expiry; round robin. */
class Upstreams {
  #cached: { at: number; records: RemoteRecord[] } | undefined;
  #inFlight: Promise<RemoteRecord[]> | undefined;
  #next = 0;

  constructor(private readonly name: string, private readonly registry: Pick<RegistryClient, 'resolve'>) {}

  async pick(): Promise<RemoteRecord> {
    const live = (rs: RemoteRecord[]) => rs.filter((r) => !(r.expiresAt > 0) || r.expiresAt * 1000 > Date.now());
    let records = this.#cached && Date.now() - this.#cached.at < RESOLVE_CACHE_MS ? live(this.#cached.records) : [];
    if (records.length === 0) {
      this.#inFlight ??= this.registry.resolve(this.name).finally(() => { this.#inFlight = undefined; });
      const fresh = await this.#inFlight;
      this.#cached = { at: Date.now(), records: fresh };
      records = live(fresh);
    }
    if (records.length === 0) throw flymeError('FLYME_NOT_FOUND', `no live record of ${this.name} in the registry`);
    return records[this.#next++ % records.length]!;
  }
}

/** Most upstream names an HTTP CONNECT proxy keeps resolve results for (oldest forgotten first). */
const MAX_CONNECT_NAMES = 256;
/** Largest HTTP CONNECT request head (request line + headers) read from a local client. */
const MAX_CONNECT_HEAD = 4096;
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

/** An HTTP error answer to a CONNECT client (FlyMe's code in a header and the body), then close. */
function answer(local: Socket, status: number, e: FlyMeError): void {
  const body = `${e.code}: ${e.message.replace(/[\r\n]+/g, ' ').slice(0, 500)}\n`;
  local.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nX-FlyMe-Error: ${e.code}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Reads `CONNECT NAME:PORT HTTP/1.x` and its headers (at most 4 KiB, within `timeoutMs`); NAME must be a DNS
 * name (a registry name), PORT 1-65535 (not used: the registry's record says where NAME is served). Returns the
 * bytes after the head (sent upstream once it is verified); the socket is paused again.
 * @throws FlyMeError FLYME_PROTOCOL_ERROR (not a CONNECT, too long, closed early), FLYME_TIMEOUT.
 */
function readConnectHead(local: Socket, timeoutMs: number): Promise<{ name: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: FlyMeError | undefined, v?: { name: string; rest: Buffer }) => {
      clearTimeout(timer);
      local.off('data', onData);
      local.off('end', onEnd);
      local.pause();
      if (err) reject(err); else resolve(v!);
    };
    const timer = setTimeout(() => finish(flymeError('FLYME_TIMEOUT', `no complete CONNECT request within ${timeoutMs} ms`)), timeoutMs);
    const onEnd = () => finish(flymeError('FLYME_PROTOCOL_ERROR', 'the client closed before a complete CONNECT request'));
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0 || end + 4 > MAX_CONNECT_HEAD) {
        if (buf.length > MAX_CONNECT_HEAD || end >= 0) finish(flymeError('FLYME_PROTOCOL_ERROR', `CONNECT request head over ${MAX_CONNECT_HEAD} bytes`));
        return;
      }
      const line = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
      const m = /^CONNECT ([^\s:[\]]+):(\d{1,5}) HTTP\/1\.[01]$/.exec(line);
      const name = m ? canonicalName(m[1]!) : '';
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        finish(flymeError('FLYME_PROTOCOL_ERROR', `not an HTTP CONNECT request for NAME:PORT: ${JSON.stringify(line.slice(0, 200))}`));
      } else if (isIP(m[1]!) !== 0 || !isDnsName(name)) {
        finish(flymeError('FLYME_PROTOCOL_ERROR', `CONNECT ${m[1]!.slice(0, 200)}: the target must be a registry name (a DNS name), not an address`));
      } else {
        finish(undefined, { name, rest: buf.subarray(end + 4) });
      }
    };
    local.on('data', onData);
    local.on('end', onEnd);
    local.resume();
  });
}

/** Splices two connections with backpressure and half-close; an abrupt end or error of either closes both. */
function splice(local: Socket, remote: TLSSocket): void {
  remote.allowHalfOpen = true;
  local.pipe(remote);
  remote.pipe(local);
  const kill = () => { local.destroy(); remote.destroy(); };
  local.on('error', kill);
  remote.on('error', kill);
  local.on('close', () => { if (!local.readableEnded) remote.destroy(); });
  remote.on('close', () => { if (!remote.readableEnded) local.destroy(); });
  local.resume();
}

/**
 * Starts one egress proxy: one local port → one upstream, or (without `upstream`) an HTTP CONNECT proxy.
 * @throws FlyMeError FLYME_INVALID_ADDRESS (a non-loopback listen address without allowRemote),
 *   FLYME_INVALID_CONFIG (a bad option), or the listen error.
 */
export async function startEgressProxy(o: EgressOptions): Promise<EgressProxy> {
  checkOptions(o);
  const fixed = o.upstream === undefined ? undefined : canonicalName(o.upstream);
  const label = fixed ?? 'CONNECT';
  const table = new Map<string, Upstreams>();
  const recordsOf = (name: string): Upstreams => {
    let u = table.get(name);
    if (!u) {
      if (table.size >= MAX_CONNECT_NAMES) table.delete(table.keys().next().value!);
      u = new Upstreams(name, o.registry);
      table.set(name, u);
    }
    return u;
  };
  const maxConnections = o.maxConnections ?? 256;
  const alpn = o.alpn ?? ['h2'];
  const sockets = new Set<Socket>();
  let locals = 0;
  let closing = false;
  const emit = (e: EgressEvent) => { try { o.onEvent?.(e); } catch { /* a logger's failure is not the connection's */ } };

  const handle = async (local: Socket): Promise<void> => {
    const client = hostPort(local.remoteAddress ?? '?', local.remotePort ?? 0);
    let upstream = fixed;
    let early: Buffer | undefined;
    if (upstream === undefined) {
      try {
        ({ name: upstream, rest: early } = await readConnectHead(local, o.timeoutMs ?? 5000));
      } catch (err) {
        const e = err as FlyMeError;
        answer(local, e.code === 'FLYME_TIMEOUT' ? 408 : 400, e);
        emit({ kind: 'failed', upstream: label, client, code: e.code, reason: e.message });
        return;
      }
    }
    const base = { upstream, client };
    let record: RemoteRecord;
    try {
      record = await recordsOf(upstream).pick();
    } catch (err) {
      const e = err instanceof FlyMeError ? err : flymeError('FLYME_UNREACHABLE', String(err));
      if (fixed === undefined) answer(local, e.code === 'FLYME_NOT_FOUND' ? 404 : 502, e);
      else local.destroy();
      emit({ ...base, kind: 'failed', code: e.code, reason: `registry: ${e.message}` });
      return;
    }
    const target = o.router ? hostPort(o.router.host, o.router.port) : hostPort(record.address, record.port);
    const about = { ...base, target, sni: record.sni, expectedId: record.owner };
    let remote: TLSSocket;
    try {
      remote = await dialTls(`tls://${target}`, {
        source: o.source, serverAuthorizer: authorizeId(record.owner), servername: record.sni,
        alpnProtocols: alpn, timeoutMs: o.timeoutMs ?? 5000,
      });
    } catch (err) {
      const e = err instanceof FlyMeError ? err : flymeError('FLYME_UNREACHABLE', String(err));
      if (fixed === undefined) answer(local, REFUSALS.has(e.code) ? 403 : e.code === 'FLYME_TIMEOUT' ? 504 : 502, e);
      else local.destroy();
      const presented = typeof e.data.spiffeId === 'string' ? { peerId: e.data.spiffeId } : {};
      emit({ ...about, ...presented, kind: REFUSALS.has(e.code) ? 'refused' : 'failed', code: e.code, reason: e.message });
      return;
    }
    if (closing || local.destroyed) { remote.destroy(); local.destroy(); return; }
    sockets.add(remote);
    remote.on('close', () => sockets.delete(remote));
    emit({ ...about, kind: 'accepted', peerId: record.owner });
    if (fixed === undefined) {
      local.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (early?.length) remote.write(early);
    }
    splice(local, remote);
  };

  // pauseOnConnect: nothing is read from a local client until its upstream is verified (the kernel's socket
  // buffer is the only buffering while dialing, so a client that sends a lot early costs us nothing).
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (local) => {
    local.on('error', () => undefined);
    if (closing || locals >= maxConnections) {
      const client = hostPort(local.remoteAddress ?? '?', local.remotePort ?? 0);
      local.destroy();
      emit({ kind: 'refused', upstream: label, client, code: 'FLYME_TOO_MANY_CONNECTIONS', reason: `at most ${maxConnections} connections to ${label}` });
      return;
    }
    locals++;
    sockets.add(local);
    local.on('close', () => { locals--; sockets.delete(local); });
    void handle(local);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen({ host: o.listen.host, port: o.listen.port, exclusive: true }, () => { server.off('error', rej); res(); });
  });
  const addr = server.address() as { address: string; port: number };
  return {
    host: addr.address,
    port: addr.port,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
