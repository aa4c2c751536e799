#!/usr/bin/env node
/**
 * flyme-fake-client: tries to talk to flymed over mTLS with credentials it should not accept (no
 * certificate, a self-signed certificate, a certificate from another CA) and reports each refusal.
 * Exits 0 only if every attempt was refused; 1 if any was served.
 */
import { Command } from '@commander-js/extra-typings';
import { parseAddress } from '../transport/address.js';
import { durationOption } from './parse.js';
import { tlsAttempt, type TlsCreds } from './probe/tls-attempt.js';
import { createRootCA, issueSvidWithKey } from '../identity/index.js';

const program = new Command('flyme-fake-client')
  .description('Prove that flymed refuses clients without valid FlyMe certificates (exit 0 = all refused).')
  .option('-c, --connect <url>', 'daemon mTLS address (unix+tls:///path or tls://host:port; env FLYME_CONNECT)')
  .option('--trust-domain <td>', 'trust domain to impersonate', 'flyme.local')
  .addOption(durationOption('--timeout <duration>', 'per-attempt timeout: a number with a unit (ms, s, m, h, d)', '3s'))
  .action(async (opts) => {
    const url = opts.connect ?? process.env.FLYME_CONNECT ?? 'unix+tls:///run/flyme/flyme.sock';
    if (!parseAddress(url).tls) throw new Error(`${url} is not an mTLS address (use unix+tls:// or tls://)`);
    const id = `spiffe://${opts.trustDomain}/client`;
    const selfSigned = await createRootCA({ trustDomain: opts.trustDomain, days: 1 });
    const otherCa = await createRootCA({ trustDomain: opts.trustDomain, days: 1 });
    const foreign = await issueSvidWithKey(otherCa, { spiffeId: id, days: 1 });
    const attempts: Array<[string, TlsCreds]> = [
      ['no client certificate', {}],
      ['self-signed certificate', { cert: selfSigned.certPem, key: selfSigned.keyPem }],
      [`certificate for ${id} from another CA`, { cert: foreign.certPem, key: foreign.keyPem }],
    ];
    let notRefused = 0;
    for (const [name, creds] of attempts) {
      const r = await tlsAttempt(url, creds, opts.timeout);
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
