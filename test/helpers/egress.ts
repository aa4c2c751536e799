/** Test helpers for the egress proxy: an mTLS upstream with an SVID from meshCerts, a plain local client. */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { spiffeIdFromCertificate } from '../../src/identity/validate.js';
import { x509 } from '../../src/identity/x509.js';
import type { EgressEvent } from '../../src/mesh/egress.js';

export const peerId = (s: TLSSocket): string => spiffeIdFromCertificate(new x509.X509Certificate(s.getPeerX509Certificate()!.raw)).toString();

export interface Upstream { port: number; received: () => number; connections: () => number; tcpConnections: () => number; close(): Promise<void> }

/**
 * A TLS 1.3 server with the SVID DIR/certs/<name>.pem requiring a client certificate of the trust domain. It reads
 * a request until the client half-closes, then answers `<id> sees <client id>: <request>` and ends.
 * With `answerOnNewline` it answers at the first newline instead (for paths that do not carry half-close).
 * `connections()` counts finished TLS handshakes, `tcpConnections()` accepted TCP connections.
 * `received()` counts the application bytes it ever read (a refused connection must leave it at 0).
 */
export async function upstreamServer(certs: string, name: string, id: string, answerOnNewline = false): Promise<Upstream> {
  let received = 0;
  let connections = 0;
  let tcpConnections = 0;
  const s = createServer({
    cert: readFileSync(join(certs, `${name}.pem`)), key: readFileSync(join(certs, `${name}.key.pem`)), ca: readFileSync(join(certs, 'root-ca.pem')),
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'], allowHalfOpen: true,
  }, (sock) => {
    connections++;
    const chunks: Buffer[] = [];
    sock.on('error', () => undefined);
    const answer = () => sock.end(`${id} sees ${peerId(sock)}: ${Buffer.concat(chunks).toString()}`);
    sock.on('data', (d: Buffer) => { received += d.length; chunks.push(d); if (answerOnNewline && d.includes(10)) answer(); });
    sock.on('end', answer);
  });
  s.on('tlsClientError', () => undefined);
  // A client that hangs up before the handshake ends leaves a half-open socket behind (allowHalfOpen): close() ends them.
  const raw = new Set<Socket>();
  s.on('connection', (c: Socket) => { tcpConnections++; raw.add(c); c.on('close', () => raw.delete(c)); });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as { port: number }).port,
    received: () => received,
    connections: () => connections,
    tcpConnections: () => tcpConnections,
    close: () => new Promise<void>((r) => { s.close(() => r()); for (const c of raw) c.destroy(); }),
  };
}

/** A plain TCP client: sends `request`, half-closes (unless `halfClose` is false), collects the answer until the proxy closes. */
export function plainRequest(port: number, request: string | Buffer, host = '127.0.0.1', halfClose = true): Promise<{ text: string; bytes: number }> {
  return new Promise((res, rej) => {
    const s = connect({ host, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); rej(new Error('no answer and no close in 20 s')); }, 20_000);
    s.on('connect', () => (halfClose ? s.end(request) : s.write(request)));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => s.end());
    s.on('error', () => undefined); // a reset is a close without data here
    s.on('close', () => { clearTimeout(timer); const b = Buffer.concat(chunks); res({ text: b.toString(), bytes: b.length }); });
  });
}

/** Collects the proxy's events; `next(kind)` waits for the next one of that kind not yet taken. */
export function eventLog(): { onEvent(e: EgressEvent): void; all: EgressEvent[]; next(kind: EgressEvent['kind']): Promise<EgressEvent> } {
  const all: EgressEvent[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  return {
    all,
    onEvent: (e) => { all.push(e); for (const w of waiters.splice(0)) w(); },
    next: async (kind) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const i = all.findIndex((e, n) => n >= taken && e.kind === kind);
        if (i >= 0) { taken = i + 1; return all[i]!; }
        if (Date.now() > deadline) throw new Error(`no ${kind} event in 20 s; events: ${JSON.stringify(all)}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 1000); });
      }
    },
  };
}
