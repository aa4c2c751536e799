#!/usr/bin/env node
/**
 * flyme-fake-client: tries to talk to flymed over mTLS with credentials it should not accept (no
 * certificate, a self-signed certificate, a certificate from another CA) and reports each refusal.
 * Exits 0 only if every attempt was refused; 1 if any was served.
 */
import { connect as tlsConnect } from 'node:tls';
import { Command } from '@commander-js/extra-typings';
import { parseAddress, unixSocketPath } from '../transport/address.js';
import { createRootCA, issueSvidWithKey } from '../identity/index.js';

interface Creds { cert?: string; key?: string }

/** Connect, send a ping, and report whether a JSON-RPC result came back (served) or not (refused). */
function attempt(url: string, creds: Creds, timeoutMs: number): Promise<{ served: boolean; detail: string }> {
  const a = parseAddress(url);
  return new Promise((resolve) => {
    const base = { minVersion: 'TLSv1.3' as const, rejectUnauthorized: false, ...creds };
    const s = a.kind === 'tcp' ? tlsConnect({ ...base, host: a.host, port: a.port }) : tlsConnect({ ...base, path: unixSocketPath(a) });
    let buf = '';
    let settled = false;
    const done = (served: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ served, detail });
    };
    const timer = setTimeout(() => done(false, 'no answer before the timeout'), timeoutMs);
    s.on('secureConnect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"fake"}}\n'));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"result"')) done(true, 'the daemon answered ping');
    });
    s.on('error', (e: Error) => done(false, e.message.split('\n')[0]!.slice(0, 160)));
    s.on('close', () => done(false, 'connection closed by the daemon'));
  });
}

const program = new Command('flyme-fake-client')
  .description('Prove that flymed refuses clients without valid FlyMe certificates (exit 0 = all refused).')
  .option('-c, --connect <url>', 'daemon mTLS address (unix+tls:///path or tls://host:port; env FLYME_CONNECT)')
  .option('--trust-domain <td>', 'trust domain to impersonate', 'flyme.local')
  .option('--timeout <ms>', 'per-attempt timeout', (v) => Number(v), 3000)
  .action(async (opts) => {
    const url = opts.connect ?? process.env.FLYME_CONNECT ?? 'unix+tls:///run/flyme/flyme.sock';
    if (!parseAddress(url).tls) throw new Error(`${url} is not an mTLS address (use unix+tls:// or tls://)`);
    const id = `spiffe://${opts.trustDomain}/client`;
    const selfSigned = await createRootCA({ trustDomain: opts.trustDomain, days: 1 });
    const otherCa = await createRootCA({ trustDomain: opts.trustDomain, days: 1 });
    const foreign = await issueSvidWithKey(otherCa, { spiffeId: id, days: 1 });
    const attempts: Array<[string, Creds]> = [
      ['no client certificate', {}],
      ['self-signed certificate', { cert: selfSigned.certPem, key: selfSigned.keyPem }],
      [`certificate for ${id} from another CA`, { cert: foreign.certPem, key: foreign.keyPem }],
    ];
    let notRefused = 0;
    for (const [name, creds] of attempts) {
      const r = await attempt(url, creds, opts.timeout);
      if (r.served) notRefused++;
      process.stdout.write(`${r.served ? 'NOT REFUSED' : 'refused    '}  ${name}: ${r.detail}\n`);
    }
    process.stdout.write(notRefused === 0 ? 'all attempts were refused\n' : `${notRefused} attempt(s) were NOT refused\n`);
    process.exitCode = notRefused === 0 ? 0 : 1;
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`flyme-fake-client: ${(err as Error).message}\n`);
  process.exitCode = 2;
});
