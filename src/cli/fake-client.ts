#!/usr/bin/env node
/**
 * flyme-fake-client: proves that flymed refuses clients without valid FlyMe certificates. First a positive
 * control: the real client identity (the certs it is given) must get through and be answered, which shows the
 * address, the daemon and the trust set-up are right. Then each attack: no client certificate, a self-signed
 * leaf claiming the real client's SPIFFE ID, a leaf for that ID from another CA, and plain JSON-RPC without
 * TLS. Each must reach the daemon and be refused at the TLS/identity layer (an alert, or a close without any
 * JSON-RPC reply). Exit codes: see EXIT_HELP.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { FlyMeError } from '../errors.js';
import { parseCertificates, spiffeIdFromCertificate } from '../identity/index.js';
import { defaultCertsDir } from '../identity/source/files.js';
import { parseAddress } from '../transport/address.js';
import { durationOption } from '../options/flags.js';
import { dialDaemon } from './dial.js';
import { EXIT, EXIT_HELP } from './exit-codes.js';
import { leafFrom, otherCA, selfSignedLeaf, trustDomainOf } from './probe/forge.js';
import { RawConnection } from './probe/raw.js';
import { connectPlain, errorCode, tlsAttempt, type AttemptOutcome, type AttemptResult } from './probe/tls-attempt.js';

class UsageError extends Error {}

type Control = { outcome: 'admitted' | 'unreachable' | 'failed'; detail: string };

/** The real client identity pings the daemon (which must prove its own SPIFFE ID, as for every flyme call). */
async function control(url: string, certs: string, serverId: string | undefined, timeoutMs: number): Promise<Control> {
  let conn: RawConnection;
  try {
    conn = new RawConnection(await dialDaemon({ url, timeoutMs, certs, ...(serverId ? { serverId } : {}) }));
  } catch (e) {
    const err = e as FlyMeError;
    const unreachable = err.code === 'FLYME_UNREACHABLE' || err.code === 'FLYME_SOCKET_ACCESS_DENIED' || (err.code === 'FLYME_TIMEOUT' && !err.data?.reason);
    return { outcome: unreachable ? 'unreachable' : 'failed', detail: err.message };
  }
  try {
    const r = await conn.call(1, 'ping', { message: 'fake-client control' }, timeoutMs);
    if (r?.result) return { outcome: 'admitted', detail: 'the daemon answered ping' };
    if (r?.error?.data?.code === 'FLYME_PERMISSION_DENIED') return { outcome: 'admitted', detail: 'admitted; the policy does not grant this identity ping (FLYME_PERMISSION_DENIED)' };
    return { outcome: 'failed', detail: r ? `the daemon answered ping with ${r.error?.data?.code ?? 'an error'}` : 'no answer to ping (the connection closed or timed out)' };
  } finally {
    conn.destroy();
  }
}

/** Plain JSON-RPC on the same address, no TLS at all: an mTLS daemon must not answer it. */
async function plainAttempt(url: string, timeoutMs: number): Promise<AttemptResult> {
  let conn: RawConnection;
  try {
    conn = new RawConnection(await connectPlain(url, timeoutMs));
  } catch (e) {
    return { outcome: 'unreachable', served: false, handshake: false, detail: `could not connect: ${(e as Error).message}` };
  }
  conn.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"fake-client"}}\n');
  const line = await conn.line(timeoutMs);
  const closed = conn.closed;
  conn.destroy();
  if (line !== undefined && line.startsWith('{')) {
    return line.includes('"result"')
      ? { outcome: 'admitted', served: true, handshake: true, detail: 'the daemon answered ping in plain JSON-RPC: no TLS needed at all' }
      : { outcome: 'admitted', served: false, handshake: true, detail: `the daemon speaks plain JSON-RPC here (error ${errorCode(line)}): no TLS needed to reach it` };
  }
  if (line !== undefined || closed) return { outcome: 'refused', served: false, handshake: false, detail: 'closed without a JSON-RPC reply' };
  return { outcome: 'no-answer', served: false, handshake: false, detail: `no answer within ${timeoutMs} ms` };
}

const LABEL: Record<AttemptOutcome, string> = { refused: 'refused', admitted: 'NOT REFUSED', unreachable: 'UNREACHABLE', 'no-answer': 'NO ANSWER', inconclusive: 'INCONCLUSIVE' };

const program = new Command('flyme-fake-client')
  .description('Prove that flymed refuses clients without valid FlyMe certificates: a control with the real client identity must be admitted, then every attack must be refused at the TLS/identity layer.')
  .option('-c, --connect <url>', 'daemon mTLS address (unix+tls:///path or tls://host:port; env FLYME_CONNECT)')
  .option('--certs <dir>', 'the real client identity for the control and the ID to impersonate: client.pem, client.key.pem, root-ca.pem (env FLYME_CERTS; default /etc/flyme/certs as root, ~/.config/flyme/certs otherwise)')
  .option('--server-id <spiffe-id>', "the daemon's expected SPIFFE ID for the control (default spiffe://<trust domain>/flymed)")
  .option('--other-ca <dir>', 'sign the "another CA" attempt with this CA (root-ca.pem, root-ca.key.pem; e.g. a retired CA that must no longer be trusted) instead of a fresh one')
  .addOption(durationOption('--timeout <duration>', 'per-attempt timeout: a number with a unit (ms, s, m, h, d)', '3s'))
  .addHelpText('after', `\n${EXIT_HELP}`)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE))
  .action(async (opts) => {
    const url = opts.connect ?? process.env.FLYME_CONNECT ?? 'unix+tls:///run/flyme/flyme.sock';
    let tls: boolean;
    try {
      tls = parseAddress(url).tls;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!tls) throw new UsageError(`${url} is not an mTLS address (use unix+tls:// or tls://)`);
    const certs = opts.certs ?? process.env.FLYME_CERTS ?? defaultCertsDir();
    const pem = await readFile(join(certs, 'client.pem'), 'utf8').catch(() => {
      throw new UsageError(`no ${join(certs, 'client.pem')}: the control needs the real client identity (--certs DIR with client.pem, client.key.pem, root-ca.pem)`);
    });
    const id = spiffeIdFromCertificate(parseCertificates(pem)[0]!).toString();
    const ctl = await control(url, certs, opts.serverId, opts.timeout);
    process.stdout.write(`${ctl.outcome === 'admitted' ? 'control    ' : 'CONTROL FAILED'}  real client ${id}: ${ctl.detail}\n`);

    const ca = await otherCA(trustDomainOf(id), opts.otherCa).catch((e: Error) => {
      throw new UsageError(`--other-ca ${opts.otherCa}: ${e.message}`);
    });
    const attempts: Array<[string, () => Promise<AttemptResult>]> = [
      ['no client certificate', () => tlsAttempt(url, {}, opts.timeout)],
      [`self-signed leaf claiming ${id}`, async () => tlsAttempt(url, await selfSignedLeaf(id), opts.timeout)],
      [`leaf for ${id} from another CA${opts.otherCa ? ` (${opts.otherCa})` : ''}`, async () => tlsAttempt(url, await leafFrom(ca, id), opts.timeout)],
      ['plain JSON-RPC without TLS', () => plainAttempt(url, opts.timeout)],
    ];
    const results: AttemptOutcome[] = [];
    for (const [name, run] of attempts) {
      const r = await run();
      results.push(r.outcome);
      process.stdout.write(`${LABEL[r.outcome].padEnd(11)}  ${name}: ${r.detail}\n`);
    }
    const admitted = results.filter((o) => o === 'admitted').length;
    const unreachable = ctl.outcome === 'unreachable' || results.some((o) => o === 'unreachable' || o === 'no-answer');
    const inconclusive = ctl.outcome !== 'admitted' || results.some((o) => o === 'inconclusive');
    if (admitted > 0) {
      process.stdout.write(`${admitted} attempt(s) were NOT refused\n`);
      process.exitCode = EXIT.ERROR;
    } else if (unreachable) {
      process.stdout.write('unreachable: the daemon was not reached (or did not answer) for every attempt; nothing is proven\n');
      process.exitCode = EXIT.UNREACHABLE;
    } else if (inconclusive) {
      process.stdout.write(ctl.outcome !== 'admitted'
        ? 'inconclusive: the real client identity was not admitted, so the refusals prove nothing (check --connect, --certs, --server-id)\n'
        : 'inconclusive: an attempt was neither admitted nor refused\n');
      process.exitCode = EXIT.INCONCLUSIVE;
    } else {
      process.stdout.write(`all ${results.length} attempts were refused (control admitted)\n`);
      process.exitCode = EXIT.OK;
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`flyme-fake-client: ${(err as Error).message}\n`);
  // Never 1 (that means an attack was NOT refused): a failure of this tool proves nothing.
  process.exitCode = err instanceof UsageError ? EXIT.USAGE : EXIT.INCONCLUSIVE;
});
