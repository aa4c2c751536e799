/** One TLS attempt with given credentials: connect, send a ping, report whether a result came back. */
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { parseAddress, unixSocketPath } from '../../transport/address.js';

export interface TlsCreds { cert?: string; key?: string }

/** `served`: a ping result came back; `handshake`: the TLS handshake completed (the identity was admitted). */
export interface AttemptResult { served: boolean; handshake: boolean; detail: string }

export function tlsAttempt(url: string, creds: TlsCreds, timeoutMs: number, extra: Partial<ConnectionOptions> = {}): Promise<AttemptResult> {
  const a = parseAddress(url);
  return new Promise((resolve) => {
    const base: ConnectionOptions = { minVersion: 'TLSv1.3', rejectUnauthorized: false, ...creds, ...extra };
    const s = a.kind === 'tcp' ? tlsConnect({ ...base, host: a.host, port: a.port }) : tlsConnect({ ...base, path: unixSocketPath(a) });
    let buf = '';
    let settled = false;
    let handshake = false;
    const done = (served: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ served, handshake, detail });
    };
    const timer = setTimeout(() => done(false, 'no answer before the timeout'), timeoutMs);
    s.on('secureConnect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"probe"}}\n'));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      handshake = true;
      if (line.includes('"result"')) done(true, 'the daemon answered ping');
      else done(false, `the daemon answered with an error: ${errorCode(line)}`);
    });
    s.on('error', (e: Error) => done(false, e.message.split('\n')[0]!.slice(0, 160)));
    s.on('close', () => done(false, 'connection closed by the daemon'));
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
