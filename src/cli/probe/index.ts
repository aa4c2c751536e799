/**
 * `flyme probe`: run the attack zoo against a running daemon after a control (the probe's own identity is
 * answered); exit 1 if any attack was not refused, 4 if the daemon was not reached, 5 if inconclusive.
 */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { parseAddress } from '../../transport/address.js';
import { durationOption } from '../../options/flags.js';
import { EXIT, EXIT_HELP } from '../exit-codes.js';
import { authzCases, controlCase, tlsCases, wireCases, type CaseResult, type ProbeContext } from './cases.js';

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
    .addHelpText('after', `\n${EXIT_HELP}`)
    .action(async (o) => {
      const g = globals();
      const ctx: ProbeContext = { ...g, tokenIssuer: o.tokenIssuer, slowWaitMs: o.slowWait, flood: o.flood };
      const control = await controlCase(ctx);
      if (!control.ok) {
        if (g.json) process.stdout.write(JSON.stringify({ ok: false, control, results: [] }) + '\n');
        else process.stdout.write(`CONTROL FAILED  ${control.detail}\n${control.unreachable ? 'unreachable' : 'inconclusive'}: no attack was run\n`);
        process.exitCode = control.unreachable ? EXIT.UNREACHABLE : EXIT.INCONCLUSIVE;
        return;
      }
      if (!g.json) process.stdout.write(`control      ${control.detail}\n`);
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
      const unsure = results.filter((r) => r.outcome === 'inconclusive').length;
      if (g.json) process.stdout.write(JSON.stringify({ ok: bad === 0 && unsure === 0, notRefused: bad, skipped, inconclusive: unsure, control, results }) + '\n');
      else {
        process.stdout.write(bad > 0 ? `${bad} attack(s) were NOT refused\n`
          : unsure > 0 ? `inconclusive: ${unsure} attack(s) were neither admitted nor refused (see above)\n`
          : `all ${results.length - skipped} attacks were refused${skipped ? ` (${skipped} skipped: see above)` : ''}\n`);
      }
      process.exitCode = bad > 0 ? EXIT.ERROR : unsure > 0 ? EXIT.INCONCLUSIVE : EXIT.OK;
    });
}
