/**
 * `flyme router`: TLS passthrough by SNI. The router reads the ClientHello's server name (bounded: one TLS
 * record, a deadline), looks it up in routes that follow the registry's Watch, and splices the connection
 * to the registered backend without terminating TLS: the client and the backend authenticate each other end
 * to end with their own SVIDs. An unknown or missing SNI, or anything that is not a ClientHello, is closed.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { SecurityEventSink } from '../auth/events.js';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from './client-hello.js';
import { parseHostPort } from './dns-server.js';
import { addressPeer, PeerLimit } from '../transport/peer-limit.js';

export interface Route { name: string; sni: string; address: string; port: number; owner: string }

/** SNI → backends, kept from the registry's Watch stream (SNAPSHOT…SYNCED, then changes). */
export class RouteTable {
  readonly #bySni = new Map<string, Map<string, Route>>();
  #pending: Route[] | undefined;
  #synced = false;

  /** Applies one Watch message. A new SNAPSHOT series replaces the table once SYNCED arrives. */
  apply(kind: string, r?: Route): void {
    const key = (x: Route) => `${x.name}|${x.address}|${x.port}`;
    if (kind === 'SNAPSHOT' && r) { (this.#pending ??= []).push(r); return; }
    if (kind === 'SYNCED') {
      this.#bySni.clear();
      for (const x of this.#pending ?? []) this.apply('REGISTERED', x);
      this.#pending = undefined;
      this.#synced = true;
      return;
    }
    if (!r) return;
    if (kind === 'REGISTERED') {
      for (const m of this.#bySni.values()) m.delete(key(r)); // a replaced record may have changed its SNI
      let m = this.#bySni.get(r.sni);
      if (!m) this.#bySni.set(r.sni, (m = new Map()));
      m.set(key(r), r);
    } else if (kind === 'DEREGISTERED' || kind === 'EXPIRED') {
      const m = this.#bySni.get(r.sni);
      m?.delete(key(r));
      if (m?.size === 0) this.#bySni.delete(r.sni);
    }
  }

  /** Forgets everything (the Watch stream broke: routes are unknown until it is back). */
  reset(): void {
    this.#bySni.clear();
    this.#pending = undefined;
    this.#synced = false;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** One backend for `sni` (round robin over its records), or undefined. */
  pick(sni: string): Route | undefined {
    const m = this.#bySni.get(sni);
    if (!m || m.size === 0) return undefined;
    const first = m.entries().next().value!;
    m.delete(first[0]);
    m.set(first[0], first[1]);
    return first[1];
  }
}

export interface RouterOptions {
  /** `host:port` (port 0: a free port). */
  listen: string;
  routes: RouteTable;
  /** The ClientHello must arrive within this (default 5 s). */
  helloTimeoutMs?: number;
  /** Backend connect deadline (default 5 s). */
  connectTimeoutMs?: number;
  /** Most concurrent client connections (default 1024). */
  maxConnections?: number;
  /** Most concurrent client connections from one source address (default 256; all of loopback is one source, an IPv6 /64 one). */
  maxConnectionsPerSource?: number;
  events?: SecurityEventSink;
}

export interface Router { host: string; port: number; close(): Promise<void> }

export async function startRouter(o: RouterOptions): Promise<Router> {
  const { host, port } = parseHostPort(o.listen);
  const sockets = new Set<Socket>();
  const refuse = (s: Socket, why: string, sni?: string) => {
    o.events?.emit({ kind: 'connection_refused', severity: 'info', source: 'router', decision: 'deny', message: `router closed a connection from ${s.remoteAddress}: ${why}`, ...(sni ? { subject: sni.slice(0, 253) } : {}), reason: 'sni' });
    s.destroy();
  };
  const perSource = new PeerLimit(o.maxConnectionsPerSource ?? 256);
  const server = createServer({ pauseOnConnect: false, allowHalfOpen: true }, (client) => {
    // One source cannot take every slot by opening connections that never finish a ClientHello.
    if (perSource.admit(client, addressPeer(client.remoteAddress))) {
      client.on('error', () => undefined);
      return refuse(client, `too many connections from this source (at most ${perSource.max})`);
    }
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => refuse(client, 'no ClientHello in time'), o.helloTimeoutMs ?? 5000);
    // A client that ends before its ClientHello is gone (half-open is for after the splice): free its slot now.
    const endedEarly = () => { clearTimeout(timer); client.destroy(); };
    client.once('end', endedEarly);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const hello = readClientHello(buf);
      if (hello.kind === 'need-more') {
        if (buf.length > MAX_CLIENT_HELLO_BYTES) { clearTimeout(timer); refuse(client, 'ClientHello too large'); }
        return;
      }
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', endedEarly);
      client.pause();
      if (hello.kind === 'invalid') return refuse(client, hello.why);
      if (!hello.sni) return refuse(client, 'no server name (SNI) in the ClientHello');
      const route = o.routes.pick(hello.sni);
      if (!route) return refuse(client, `no registered backend for SNI ${hello.sni}`, hello.sni);
      // Half-close is carried both ways (a client may send its request, then FIN, then read the answer); an
      // abrupt close or error of either side, or any close before the splice, ends both.
      const backend = connect({ host: route.address, port: route.port, allowHalfOpen: true });
      let spliced = false;
      sockets.add(backend);
      backend.on('close', () => { sockets.delete(backend); if (!spliced || !backend.readableEnded) client.destroy(); });
      client.on('close', () => { if (!spliced || !client.readableEnded) backend.destroy(); });
      backend.on('error', () => client.destroy());
      client.on('error', () => backend.destroy());
      backend.setTimeout(o.connectTimeoutMs ?? 5000, () => backend.destroy());
      backend.once('connect', () => {
        backend.setTimeout(0);
        spliced = true;
        backend.write(buf);
        client.pipe(backend);
        backend.pipe(client);
        client.resume();
      });
    };
    client.on('data', onData);
  });
  server.maxConnections = o.maxConnections ?? 1024;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen({ host, port, exclusive: true }, () => { server.off('error', rej); res(); });
  });
  const addr = server.address() as { port: number };
  return {
    host, port: addr.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
