/**
 * `flyme spiffe fetch | validate`: what the calling process is entitled to from the Workload API (FlyMe's
 * agent or SPIRE's), like `spire-agent api fetch`; `--out DIR` writes the SVID files.
 */
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { writeFileAtomic } from '../files/atomic-write.js';
import { certToPem } from '../identity/profile.js';
import { WorkloadApiClient } from '../spiffe/client.js';
import { ENDPOINT_ENV } from '../spiffe/endpoint.js';
import { DEFAULT_AGENT_SOCKET } from './agent.js';
import { durationOption } from '../options/flags.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const endpoint = (socket?: string) => socket ?? process.env[ENDPOINT_ENV] ?? DEFAULT_AGENT_SOCKET;

export function spiffeCommand(json: () => boolean = () => false): Command {
  const cmd = new Command('spiffe').description('use the SPIFFE Workload API as this process (flyme spiffe fetch --help)');
  cmd.command('fetch').description('print the X.509-SVIDs (or, with --jwt, JWT-SVIDs) this process is entitled to')
    .option('--socket <url>', `Workload API address (default $${ENDPOINT_ENV}, else ${DEFAULT_AGENT_SOCKET})`)
    .option('--jwt', 'fetch JWT-SVIDs instead (needs --audience)')
    .option('--audience <aud>', 'JWT audience (repeatable)', collect, [] as string[])
    .option('--spiffe-id <id>', 'with --jwt: only this identity')
    .option('--out <dir>', 'write svid.N.pem, svid.N.key (0600), bundle.N.pem and crl.N.der (or jwt.N.token)')
    .addOption(durationOption('--timeout <duration>', 'how long to wait', '10s'))
    .action(async (o) => {
      const client = new WorkloadApiClient(endpoint(o.socket));
      const started = Date.now();
      try {
        if (o.jwt) {
          if (o.audience.length === 0) throw new Error('--jwt needs at least one --audience');
          const svids = await client.fetchJwtSvids(o.audience, o.spiffeId);
          if (o.out) for (const [i, s] of svids.entries()) await writeFileAtomic(join(o.out, `jwt.${i}.token`), `${s.token}\n`, { mode: 0o600, overwrite: true });
          if (json()) process.stdout.write(`${JSON.stringify({ svids })}\n`);
          else process.stdout.write(`Received ${svids.length} JWT-SVID(s) after ${Date.now() - started} ms\n\n${svids.map((s) => `SPIFFE ID:\t${s.spiffeId}${s.hint ? `\nHint:\t\t${s.hint}` : ''}\nToken:\t\t${s.token}\n`).join('\n')}`);
          return;
        }
        const m = await client.fetchX509(o.timeout);
        const roots = (td: string) => m.bundle.rootsFor(td);
        if (o.out) {
          for (const [i, s] of m.svids.entries()) {
            await writeFileAtomic(join(o.out, `svid.${i}.key`), s.keyPem, { mode: 0o600, overwrite: true });
            await writeFileAtomic(join(o.out, `svid.${i}.pem`), s.certPem, { mode: 0o644, overwrite: true });
            await writeFileAtomic(join(o.out, `bundle.${i}.pem`), roots(s.spiffeId.trustDomain).map(certToPem).join(''), { mode: 0o644, overwrite: true });
          }
          for (const [i, c] of m.bundle.crls.entries()) await writeFileAtomic(join(o.out, `crl.${i}.der`), new Uint8Array(c.rawData), { mode: 0o644, overwrite: true });
        }
        const view = m.svids.map((s) => ({
          spiffeId: s.spiffeId.toString(), hint: s.hint ?? '', serial: s.chain[0]!.serialNumber.toLowerCase(),
          notBefore: s.chain[0]!.notBefore.toISOString(), notAfter: s.chain[0]!.notAfter.toISOString(),
          chain: s.chain.length, bundle: roots(s.spiffeId.trustDomain).map((r) => ({ subject: r.subject, notAfter: r.notAfter.toISOString() })),
        }));
        if (json()) {
          process.stdout.write(`${JSON.stringify({ svids: view, crls: m.bundle.crls.length, trustDomains: m.bundle.trustDomains })}\n`);
          return;
        }
        process.stdout.write(`Received ${view.length} svid(s) after ${Date.now() - started} ms\n`);
        for (const v of view) {
          process.stdout.write(`\nSPIFFE ID:\t\t${v.spiffeId}\n${v.hint ? `Hint:\t\t\t${v.hint}\n` : ''}Serial:\t\t\t${v.serial}\nSVID Valid After:\t${v.notBefore}\nSVID Valid Until:\t${v.notAfter}\n`);
          v.bundle.forEach((r, i) => process.stdout.write(`CA #${i + 1} Subject:\t\t${r.subject}\nCA #${i + 1} Valid Until:\t${r.notAfter}\n`));
        }
        if (m.bundle.crls.length) process.stdout.write(`\nRevocation lists:\t${m.bundle.crls.length}\n`);
        if (o.out) process.stdout.write(`\nWritten to ${o.out}\n`);
      } finally {
        client.close();
      }
    });
  cmd.command('validate').description('validate a JWT-SVID for an audience through the Workload API (ValidateJWTSVID)')
    .argument('<token>', 'the JWT-SVID')
    .requiredOption('--audience <aud>', 'your audience')
    .option('--socket <url>', `Workload API address (default $${ENDPOINT_ENV}, else ${DEFAULT_AGENT_SOCKET})`)
    .action(async (token, o) => {
      const client = new WorkloadApiClient(endpoint(o.socket));
      try {
        const r = await client.validateJwtSvid(token, o.audience);
        process.stdout.write(json() ? `${JSON.stringify(r)}\n` : `valid: ${r.spiffeId}\n${JSON.stringify(r.claims, null, 2)}\n`);
      } finally {
        client.close();
      }
    });
  return cmd;
}
