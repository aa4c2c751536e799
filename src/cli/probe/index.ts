/** `flyme probe`: run the attack zoo against a running daemon; exit 1 if any attack was not refused. */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { parseAddress } from '../../transport/address.js';
import { durationOption } from '../parse.js';
import { authzCases, tlsCases, wireCases, type CaseResult, type ProbeContext } from './cases.js';

export interface ProbeGlobals {
  url: string;
  certs?: string | undefined;
  serverId?: string | undefined;
  token?: string | undefined;
  timeoutMs: number;
  json: boolean;
}

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 5000) throw new InvalidArgumentError('must be an integer from 1 to 5000');
  return n;
};

export function probeCommand(globals: () => ProbeGlobals) {
  return new Command('probe')
    .description('attack a running daemon (bad certificates, TLS 1.2, garbage, oversize frames, slowloris, connection flood, ungranted methods, list escapes, forged/replayed tokens); exit 1 if anything was NOT refused')
    .addOption(durationOption('--slow-wait <duration>', 'how long the slowloris case waits for the daemon to close a half-sent request (the daemon\'s --idle-timeout must be shorter)', '65s'))
    .option('--flood <n>', 'connections opened at once by the flood case (the daemon\'s --max-connections must be lower)', positive, 300)
    .option('--token-issuer <iss>', 'issuer named in the forged token (default: flyme-probe)', 'flyme-probe')
    .action(async (o) => {
      const g = globals();
      const ctx: ProbeContext = { ...g, tokenIssuer: o.tokenIssuer, slowWaitMs: o.slowWait, flood: o.flood };
      const results: CaseResult[] = [];
      const report = (r: CaseResult) => {
        results.push(r);
        if (!g.json) process.stdout.write(`${r.outcome.padEnd(11)}  ${r.name}: ${r.detail}\n`);
      };
      if (parseAddress(g.url).tls) for (const r of await tlsCases(ctx)) report(r);
      for (const r of await authzCases(ctx)) report(r);
      for (const r of await wireCases(ctx)) report(r);
      const bad = results.filter((r) => r.outcome === 'NOT REFUSED').length;
      const skipped = results.filter((r) => r.outcome === 'skipped').length;
      if (g.json) process.stdout.write(JSON.stringify({ ok: bad === 0, notRefused: bad, skipped, results }) + '\n');
      else process.stdout.write(bad === 0 ? `all ${results.length - skipped} attacks were refused${skipped ? ` (${skipped} skipped: see above)` : ''}\n` : `${bad} attack(s) were NOT refused\n`);
      process.exitCode = bad === 0 ? 0 : 1;
    });
}
