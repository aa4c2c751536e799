/**
 * One attack attempt with given TLS credentials: connect, handshake, send a ping, and say what happened.
 * The socket is connected first and TLS started on it, so "nothing there" (unreachable) is never mistaken
 * for a refusal. Outcomes:
 * - `refused`: the daemon was reached and refused at the TLS/identity layer: a TLS alert, or the connection
 *   closed without a single JSON-RPC reply;
 * - `admitted`: a JSON-RPC line came back over the attacker's TLS connection (a result, or an error such as
 *   FLYME_PERMISSION_DENIED: the TLS/identity layer let it through either way);
 * - `unreachable`: the connection itself failed (no such socket, refused, unreachable host, no permission);
 * - `no-answer`: connected, but nothing decided before the timeout;
 * - `inconclusive`: connected, but the handshake failed on this side without an alert from the daemon (for
 *   example it does not speak TLS at all).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { parseAddress, unixSocketPath } from '../../transport/address.js';

export interface TlsCreds { cert?: string; key?: string }

export type AttemptOutcome = 'refused' | 'admitted' | 'unreachable' | 'no-answer' | 'inconclusive';

/** `served`: a ping result came back; `handshake`: a JSON-RPC reply came back (the identity was admitted). */
export interface AttemptResult { outcome: AttemptOutcome; served: boolean; handshake: boolean; detail: string }

/** Connect the plain socket of `url` (unix path or TCP), or fail with the errno. */
export function connectPlain(url: string, timeoutMs: number): Promise<Socket> {
  const a = parseAddress(url);
  return new Promise((resolve, reject) => {
    const s = a.kind === 'tcp' ? netConnect({ host: a.host, port: a.port }) : netConnect({ path: unixSocketPath(a) });
    const t = setTimeout(() => { s.destroy(); reject(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })); }, timeoutMs);
    s.once('connect', () => { clearTimeout(t); s.removeAllListeners('error'); resolve(s); });
    s.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

/** A TLS error the daemon caused by sending an alert (as opposed to one raised on this side). */
const isAlert = (e: NodeJS.ErrnoException) => /ALERT/i.test(e.code ?? '') || /\balert\b/i.test(e.message);
const closedByPeer = (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || e.code === 'EPIPE';

export async function tlsAttempt(url: string, creds: TlsCreds, timeoutMs: number, extra: Partial<ConnectionOptions> = {}): Promise<AttemptResult> {
  let raw: Socket;
  try {
    raw = await connectPlain(url, timeoutMs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { outcome: 'unreachable', served: false, handshake: false, detail: `could not connect: ${err.code ?? ''} ${err.message}`.trim() };
  }
  return new Promise((resolve) => {
    let s: TLSSocket;
    let buf = '';
    let settled = false;
    let secured = false;
    const done = (outcome: AttemptOutcome, detail: string, served = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s?.destroy();
      raw.destroy();
      resolve({ outcome, served, handshake: outcome === 'admitted', detail });
    };
    const timer = setTimeout(() => done('no-answer', `no answer within ${timeoutMs} ms (connected${secured ? ', handshake completed on this side' : ''})`), timeoutMs);
    try {
      s = tlsConnect({ minVersion: 'TLSv1.3', rejectUnauthorized: false, ...creds, ...extra, socket: raw });
    } catch (e) {
      done('inconclusive', `could not start TLS here: ${(e as Error).message}`);
      return;
    }
    s.on('secureConnect', () => {
      secured = true;
      s.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"probe"}}\n');
    });
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      if (line.includes('"result"')) done('admitted', 'the daemon answered ping', true);
      else done('admitted', `the daemon answered over this connection (error ${errorCode(line)}): admitted at the TLS layer`);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      // OpenSSL messages are "…:routine:reason:file:line:…": keep the reason.
      const msg = (/:([^:]*alert[^:]*):/i.exec(e.message)?.[1] ?? e.message.split('\n')[0]!).slice(0, 160);
      if (isAlert(e)) done('refused', `TLS alert from the daemon: ${msg}`);
      else if (closedByPeer(e)) done('refused', `closed by the daemon without a reply (${e.code})`);
      else done('inconclusive', `the handshake failed on this side, not by a refusal from the daemon: ${msg}`);
    });
    s.on('close', () => done('refused', 'closed by the daemon without a reply'));
  });
}

export function errorCode(line: string): string {
  try {
    const m = JSON.parse(line) as { error?: { data?: { code?: string }; message?: string } };
    return m.error?.data?.code ?? m.error?.message ?? 'unknown error';
  } catch {
    return 'unparsable reply';
  }
}

/** A TLS connection with the given credentials once this side's handshake is done (no server check: attacks only). */
export async function tlsConnection(url: string, creds: TlsCreds, timeoutMs: number): Promise<TLSSocket> {
  const raw = await connectPlain(url, timeoutMs);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ minVersion: 'TLSv1.3', rejectUnauthorized: false, ...creds, socket: raw });
    const t = setTimeout(() => { s.destroy(); raw.destroy(); reject(new Error(`no TLS handshake within ${timeoutMs} ms`)); }, timeoutMs);
    s.once('secureConnect', () => { clearTimeout(t); s.removeAllListeners('error'); resolve(s); });
    s.once('error', (e) => { clearTimeout(t); raw.destroy(); reject(e); });
  });
}
