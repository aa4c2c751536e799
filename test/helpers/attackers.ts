/**
 * Peers that die at every stage of a connection, for scenarios that check a server survives them: separate
 * processes that are SIGKILLed (the kernel closes their sockets, with a reset where answers were left unread),
 * and in-process TCP resets (`resetAndDestroy`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';

const CHILD = join(resolve(fileURLToPath(import.meta.url), '..'), 'attacker-child.js');

/** One kind of connection an attacker process opens. */
export interface AttackSocket {
  /** Unix socket path … */
  path?: string;
  /** … or a TCP port on 127.0.0.1. */
  port?: number;
  /** Complete a mutual TLS handshake first (with `plan.certs`' client identity). */
  tls?: boolean;
  /** Bytes (base64) to write once connected. */
  data?: string;
  /** Stop reading at once: the server's answers pile up unread (the kernel resets the connection at exit). */
  unread?: boolean;
  /** Speak HTTP/2 (gRPC) on the connection: open a stream with these headers and send `body` (base64) on it. */
  h2?: { headers: Record<string, string>; body?: string };
  /** Mutual TLS without a client certificate (`tls` then presents none). */
  noClientCert?: boolean;
  /** ALPN protocols to offer with `tls`. */
  alpn?: string[];
  /** How many such connections (default 1). */
  count?: number;
}

export interface AttackPlan {
  sockets: AttackSocket[];
  /** A `flyme certs` directory (client.pem, client.key.pem, root-ca.pem) for `tls` sockets. */
  certs?: string;
  /** Wait this long after connecting before reporting ready (default 200 ms). */
  settleMs?: number;
}

export const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');

/** Starts an attacker process, waits until its connections are open, then SIGKILLs it and waits for it to die. */
export async function killedAttacker(plan: AttackPlan): Promise<void> {
  const p = spawn(process.execPath, [CHILD, '--plan-on-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  p.stdin!.end(JSON.stringify(plan));
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  while (!out.includes('ready')) {
    if (p.exitCode !== null) throw new Error(`attacker exited early (${p.exitCode}): ${err}`);
    if (Date.now() > deadline) break; // kill it anyway: a stuck connect is an attack too
    await new Promise((r) => setTimeout(r, 10));
  }
  p.kill('SIGKILL');
  await exited;
}

/** The first flight of a real TLS 1.3 client (its ClientHello), captured from a local listener. */
export function captureClientHello(certs: string): Promise<Buffer> {
  return new Promise((res, rej) => {
    const srv = createServer((s) => {
      s.once('data', (d: Buffer) => { res(d); s.destroy(); srv.close(); });
    }).listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = tlsConnect({ port, host: '127.0.0.1', cert: readFileSync(join(certs, 'client.pem')), key: readFileSync(join(certs, 'client.key.pem')), ca: readFileSync(join(certs, 'root-ca.pem')), minVersion: 'TLSv1.3' });
      c.on('error', () => undefined);
    });
    srv.on('error', rej);
  });
}

/**
 * In-process TCP peers that send `data` (if any), wait for `waitMs` (the server may answer into an unread
 * queue), then reset the connection (RST). Resolves once every socket is gone.
 */
export async function tcpResets(port: number, count: number, data?: Buffer, waitMs = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((r) => {
    const s: Socket = netConnect(port, '127.0.0.1');
    s.on('error', () => r());
    s.on('close', () => r());
    s.on('connect', () => {
      s.pause();
      if (data) s.write(data);
      setTimeout(() => s.resetAndDestroy(), waitMs);
    });
  })));
}
