/**
 * The registry's DNS server: UDP and TCP on one address (TCP frames carry a 2-byte length prefix, RFC 1035
 * 4.2.2). Bounded everywhere: query size (dns-answer.ts), a token bucket per source address, TCP connections,
 * TCP idle time, bytes queued per TCP connection.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { flymeError } from '../errors.js';
import { addressPeer, PeerLimit } from '../transport/peer-limit.js';
import { answerQuery, MAX_QUERY_BYTES, type ZoneView } from './dns-answer.js';
import { SourceRateLimiter, type RateLimitOptions } from './rate-limit.js';

export interface DnsServerOptions {
  /** `host:port` or `[v6]:port`; port 0 picks a free port (the same for UDP and TCP). */
  address: string;
  view: ZoneView;
  rateLimit?: RateLimitOptions;
  /** Most open TCP connections (default 64). */
  maxTcpConnections?: number;
  /** Most open TCP connections from one source (default 16; all of loopback is one source, an IPv6 /64 one). */
  maxTcpConnectionsPerSource?: number;
  /** A TCP connection idle this long is closed, and a query must arrive whole within it (default 10 s). */
  tcpIdleMs?: number;
}

export interface DnsServer {
  host: string;
  port: number;
  limiter: SourceRateLimiter;
  close(): Promise<void>;
}

/** `127.0.0.1:10053`, `[::1]:10053` → host and port. */
export function parseHostPort(text: string, what = 'DNS address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || isIP(host) === 0 || port > 65535) throw flymeError('FLYME_INVALID_ADDRESS', `${what} "${text}" must be IP:PORT (e.g. 127.0.0.1:10053 or [::1]:10053)`);
  return { host, port };
}

const MAX_TCP_BACKLOG = 64 * 1024;

export async function startDnsServer(o: DnsServerOptions): Promise<DnsServer> {
  const { host, port: wanted } = parseHostPort(o.address);
  const limiter = new SourceRateLimiter(o.rateLimit);
  const sockets = new Set<Socket>();
  // Port 0: UDP picks a free port and TCP takes the same one; if TCP finds it taken, try again.
  for (let attempt = 1; ; attempt++) {
    const udp = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    udp.on('message', (msg, rinfo) => {
      if (!limiter.take(rinfo.address)) return;
      const out = answerQuery(msg, o.view, 'udp');
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on('error', () => undefined); // ICMP errors for unreachable clients: nothing to do
    const port = await bindUdp(udp, host, wanted);
    const perSource = new PeerLimit(o.maxTcpConnectionsPerSource ?? 16);
    const tcp = createServer({ allowHalfOpen: false }, (s) => {
      // One source cannot hold every TCP slot (and so every client's fallback for truncated answers).
      if (perSource.admit(s, addressPeer(s.remoteAddress))) { s.on('error', () => undefined); s.destroy(); return; }
      serveTcp(s, o, limiter, sockets);
    });
    tcp.maxConnections = o.maxTcpConnections ?? 64;
    try {
      await listenTcp(tcp, host, port);
    } catch (err) {
      udp.close();
      if (wanted === 0 && attempt < 5 && (err as { code?: string }).code === 'FLYME_ADDRESS_IN_USE') continue;
      throw err;
    }
    return {
      host, port, limiter,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}

function serveTcp(s: Socket, o: DnsServerOptions, limiter: SourceRateLimiter, sockets: Set<Socket>): void {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => undefined);
  const idleMs = o.tcpIdleMs ?? 10_000;
  s.setTimeout(idleMs, () => s.destroy());
  // The idle timer restarts with every byte: a query trickled a byte at a time also has to end in time.
  let queryTimer: NodeJS.Timeout | undefined;
  s.on('close', () => clearTimeout(queryTimer));
  let buf = Buffer.alloc(0);
  s.on('data', (chunk: Buffer) => {
    const partialBefore = buf.length > 0;
    let answered = false;
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len < 12 || len > MAX_QUERY_BYTES) { s.destroy(); return; }
      if (buf.length < 2 + len) break;
      const query = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      if (!limiter.take(s.remoteAddress ?? '?')) { s.destroy(); return; }
      const out = answerQuery(query, o.view, 'tcp');
      if (!out) { s.destroy(); return; }
      answered = true;
      const frame = Buffer.alloc(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      s.write(frame);
      if (s.writableLength > MAX_TCP_BACKLOG) { s.destroy(); return; } // a client that sends but never reads
    }
    if (buf.length > 2 + MAX_QUERY_BYTES) { s.destroy(); return; }
    if (buf.length === 0) {
      clearTimeout(queryTimer);
      queryTimer = undefined;
    } else if (!partialBefore || answered) { // a new query began in this chunk: its own deadline
      clearTimeout(queryTimer);
      queryTimer = setTimeout(() => s.destroy(), idleMs);
    }
  });
}

function bindUdp(udp: UdpSocket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
      ? flymeError('FLYME_ADDRESS_IN_USE', `DNS address ${host}:${port} (UDP) is in use`, undefined, err)
      : flymeError('FLYME_INVALID_ADDRESS', `cannot listen on ${host}:${port} (UDP): ${err.code ?? err.message}`, undefined, err));
    udp.once('error', fail);
    udp.bind({ address: host, port, exclusive: true }, () => {
      udp.off('error', fail);
      resolve(udp.address().port);
    });
  });
}

function listenTcp(tcp: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
      ? flymeError('FLYME_ADDRESS_IN_USE', `DNS address ${host}:${port} (TCP) is in use`, undefined, err)
      : flymeError('FLYME_INVALID_ADDRESS', `cannot listen on ${host}:${port} (TCP): ${err.code ?? err.message}`, undefined, err));
    tcp.once('error', fail);
    tcp.listen({ host, port, exclusive: true }, () => {
      tcp.off('error', fail);
      resolve();
    });
  });
}
