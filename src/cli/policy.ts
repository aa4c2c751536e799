/** `flyme policy check FILE` and `flyme explain METHOD`: offline answers from a policy file. */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { Policy } from '../auth/policy/index.js';
import { checkPolicy } from './policy-checks.js';

/** flymed's default (daemon/policy.ts DEFAULT_POLICY_PATH; not imported: the CLI stays off the daemon layer). */
const DEFAULT_POLICY = '/etc/flyme/policy.yaml';
const uint = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(v);
};

/** `json()` reads the global --json flag. */
export function policyCommand(json: () => boolean): Command {
  const cmd = new Command('policy').description('work with policy files (docs/policy.md)');
  cmd.command('check')
    .description('validate a policy file offline as flymed loads it (schema, and every token issuer\'s JWKS file exists and parses); prints a summary or the error with its line and field (exit 1). Warnings (e.g. no binding grants admin) go to stderr and keep exit 0: the daemon would load the file')
    .argument('<file>', 'policy file (YAML or JSON)')
    .action(async (file) => {
      const { policy: p, warnings } = await checkPolicy(file);
      const d = p.document;
      const summary = {
        ok: true, file, version: p.info.version ?? null, hash: p.info.hash,
        roles: Object.keys(d.roles).sort(), bindings: d.bindings?.length ?? 0, issuers: (d.issuers ?? []).map((i) => i.iss), warnings,
      };
      process.stdout.write(json() ? JSON.stringify(summary) + '\n'
        : `OK ${file}${summary.version !== null ? ` (version ${summary.version})` : ''}: ${summary.roles.length} roles [${summary.roles.join(', ')}], ${summary.bindings} bindings, ${summary.issuers.length} token issuers; sha256 ${p.info.hash}\n`);
      for (const w of warnings) process.stderr.write(`WARNING: ${file}: ${w.message}\n  fix: ${w.fix}\n`);
    });
  return cmd;
}

export function explainCommand(json: () => boolean) {
  return new Command('explain')
    .description('say which binding and role let a subject call METHOD under a policy file, or which grant is missing (offline)')
    .argument('<method>', 'method (permission) name, e.g. status')
    .option('--uid <n>', 'kernel uid of the caller', uint)
    .option('--gid <n>', 'primary gid of the caller', uint)
    .option('--spiffe-id <id>', 'SPIFFE ID of the caller\'s certificate')
    .option('--policy <file>', `policy file (default ${DEFAULT_POLICY} when it exists, else the built-in policy, as flymed does; "builtin" for the built-in policy)`)
    .option('--daemon-uid <n>', "with the built-in policy: the uid flymed runs as, which is admin too (default 0)", uint)
    .action((method, o) => {
      if (o.uid === undefined && o.gid === undefined && o.spiffeId === undefined) throw new InvalidArgumentError('name the caller: --uid, --gid and/or --spiffe-id');
      // flymed: --policy FILE must exist; without it, DEFAULT_POLICY if it exists, else the built-in policy.
      const file = o.policy ?? (existsSync(DEFAULT_POLICY) ? DEFAULT_POLICY : 'builtin');
      if (o.policy === undefined && file === 'builtin') {
        process.stderr.write(`no ${DEFAULT_POLICY}: explaining the built-in policy, which flymed uses without a policy file (uid 0${o.daemonUid ? ` and the daemon's uid ${o.daemonUid}` : ''} admin${o.daemonUid ? 's' : ''}; a flymed not running as root also makes its own uid admin: --daemon-uid N)\n`);
      }
      const policy = file === 'builtin' ? Policy.builtin(o.daemonUid ?? 0) : Policy.load(file);
      const e = policy.explain(method, {
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.gid !== undefined ? { gid: o.gid } : {}),
        ...(o.spiffeId !== undefined ? { spiffeId: o.spiffeId } : {}),
      });
      if (json()) process.stdout.write(JSON.stringify(e) + '\n');
      else {
        const lines = [`${e.allowed ? 'ALLOWED' : 'DENIED'}: ${method}: ${e.reason}`];
        for (const m of e.matched) lines.push(`  binding ${m.binding} → roles ${m.roles.join(', ')}`);
        if (!e.allowed) lines.push(`  roles that grant ${method}: ${e.rolesThatWouldGrant.join(', ') || '(none)'}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!e.allowed) process.exitCode = 3;
    });
}
