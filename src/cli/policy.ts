/** `flyme policy check FILE` and `flyme explain METHOD`: offline answers from a policy file. */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { Policy } from '../auth/policy/index.js';

const DEFAULT_POLICY = '/etc/flyme/policy.yaml';
const uint = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(v);
};

/** `json()` reads the global --json flag. */
export function policyCommand(json: () => boolean): Command {
  const cmd = new Command('policy').description('work with policy files (docs/policy.md)');
  cmd.command('check').description('validate a policy file offline; prints a summary or the error with its line and field')
    .argument('<file>', 'policy file (YAML or JSON)')
    .action((file) => {
      const p = Policy.load(file);
      const d = p.document;
      const summary = {
        ok: true, file, version: p.info.version ?? null, hash: p.info.hash,
        roles: Object.keys(d.roles).sort(), bindings: d.bindings?.length ?? 0, issuers: (d.issuers ?? []).map((i) => i.iss),
      };
      process.stdout.write(json() ? JSON.stringify(summary) + '\n'
        : `OK ${file}${summary.version !== null ? ` (version ${summary.version})` : ''}: ${summary.roles.length} roles [${summary.roles.join(', ')}], ${summary.bindings} bindings, ${summary.issuers.length} token issuers; sha256 ${p.info.hash}\n`);
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
    .option('--policy <file>', `policy file (default ${DEFAULT_POLICY}; "builtin" for the no-file default)`, DEFAULT_POLICY)
    .action((method, o) => {
      if (o.uid === undefined && o.gid === undefined && o.spiffeId === undefined) throw new InvalidArgumentError('name the caller: --uid, --gid and/or --spiffe-id');
      const policy = o.policy === 'builtin' ? Policy.builtin() : Policy.load(o.policy);
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
