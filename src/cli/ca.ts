/**
 * `flyme ca init | serve | join-token | entry create|list|delete | status | rotate-intermediate`: FlyMe's
 * certificate authority service and its operator commands (over the CA's admin Unix socket).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { AuditLog } from '../audit/log.js';
import { limitSecurityEvents } from '../auth/events.js';
import { coalesceSecurityEvents } from '../auth/coalesce-events.js';
import { Authority } from '../ca/authority.js';
import { CaAdminClient, type WireEntry } from '../ca/client.js';
import { caFiles, initCaDir, rotateIntermediate } from '../ca/material.js';
import { parseSelector } from '../ca/selectors.js';
import { serveCa } from '../ca/server.js';
import { flymeError } from '../errors.js';
import { loadCA } from '../identity/ca.js';
import { secondsOption } from '../options/flags.js';
import { onStopSignals } from './signals.js';

const root = () => process.getuid?.() === 0;
/** Event kinds anyone who can reach a port can cause: recorded one by one up to 20 a second, then counted. */
export const ANONYMOUS_NOISE = ['handshake_failed', 'unauthenticated', 'connection_refused', 'svid_refused'] as const;
export const defaultCaDir = (): string => (root() ? '/var/lib/flyme/ca' : join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'flyme', 'ca'));
export const defaultCaSocket = (): string => (root() ? 'unix:///run/flyme/ca-admin.sock' : `unix://${join(process.env.XDG_RUNTIME_DIR || `/tmp/flyme-${process.getuid?.() ?? 'user'}`, 'ca-admin.sock')}`);

const collect = (v: string, prev: string[]) => [...prev, v];
const out = (json: boolean, value: unknown, human: string) => process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
const formatEntry = (e: WireEntry) =>
  `${e.id}  ${e.spiffe_id}  parent ${e.parent_id}  ttl ${e.ttl_seconds}s  ${e.selectors.map((s) => `${s.type}:${s.value}`).join(' ')}${e.hint ? `  hint ${e.hint}` : ''}`;

async function withAdmin<T>(socket: string, fn: (c: CaAdminClient) => Promise<T>): Promise<T> {
  const c = new CaAdminClient(socket);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export function caCommand(json: () => boolean = () => false): Command {
  const ca = new Command('ca').description('FlyMe certificate authority: issues X.509-SVIDs to attested agents (docs/workload-identity.md)');
  const socketOption = () => new Option('--ca-socket <url>', `the CA's admin socket (default ${defaultCaSocket()})`).default(defaultCaSocket());

  ca.command('init').description('create a CA: a persistent root, a signing intermediate and a JWT-SVID key (never replaces an existing CA)')
    .requiredOption('--trust-domain <td>', 'e.g. example.org')
    .option('--data-dir <dir>', 'where the CA keeps its keys and state', defaultCaDir())
    .addOption(new Option('--key-type <type>', 'key type').choices(['P-256', 'Ed25519'] as const).default('P-256' as const))
    .addOption(secondsOption('--root-ttl <duration>', 'root lifetime', '3650d'))
    .addOption(secondsOption('--intermediate-ttl <duration>', 'intermediate lifetime (rotated at two thirds)', '7d'))
    .action(async (o) => {
      await initCaDir(o.dataDir, { trustDomain: o.trustDomain, keyType: o.keyType, rootDays: o.rootTtl / 86400, intermediateHours: o.intermediateTtl / 3600 });
      process.stdout.write(`CA for ${o.trustDomain} created in ${o.dataDir}; trust bundle: ${caFiles(o.dataDir).root}\n`);
    });

  ca.command('serve').description('run the CA service: AgentCA over mutual TLS, CAAdmin on the admin socket, gRPC reflection on')
    .option('--data-dir <dir>', 'the CA directory', defaultCaDir())
    .option('--trust-domain <td>', 'create the CA on first start when the directory holds none')
    .option('--listen <url>', 'mTLS listener for agents, repeatable: tls://127.0.0.1:8081, unix+tls:///run/flyme/ca.sock', collect, [] as string[])
    .option('--admin-socket <url>', 'CAAdmin for root and the CA\'s own user (unix:///path, mode 0600)', defaultCaSocket())
    .option('--admin-id <spiffe-id>', 'also allow this SPIFFE ID to call CAAdmin over mTLS (repeatable)', collect, [] as string[])
    .addOption(secondsOption('--intermediate-ttl <duration>', 'lifetime of rotated intermediates', '7d'))
    .addOption(secondsOption('--agent-ttl <duration>', 'lifetime of agent SVIDs', '1h'))
    .option('--audit-log <file>', 'signed audit log of issuances and refusals (default DATA_DIR/audit.log)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(async (o) => {
      const log = pino({ name: 'flyme-ca', level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
      if (o.trustDomain) {
        await initCaDir(o.dataDir, { trustDomain: o.trustDomain, intermediateHours: o.intermediateTtl / 3600 }).catch((e: { code?: string }) => {
          if (e.code !== 'FLYME_FILE_EXISTS') throw e;
        });
      }
      const auditPath = o.auditLog ?? join(o.dataDir, 'audit.log');
      const audit = await AuditLog.open({ path: auditPath, keyPath: join(o.dataDir, 'audit-key.pem') });
      const events = coalesceSecurityEvents(limitSecurityEvents(audit, ANONYMOUS_NOISE));
      const authority = await Authority.open({
        dataDir: o.dataDir, events, intermediateHours: o.intermediateTtl / 3600, agentTtlSeconds: o.agentTtl,
        warn: (m) => log.warn({ event: 'ca_warning' }, m),
      });
      const listen = o.listen.length ? o.listen : ['tls://127.0.0.1:8081'];
      const server = await serveCa({ authority, listen, adminSocket: o.adminSocket, adminIds: o.adminId, events }).catch(async (e: Error) => {
        authority.close();
        await audit.close();
        throw e;
      });
      // The stop handlers are in place before the ready line: a SIGTERM sent the moment it appears must find them.
      onStopSignals('flyme ca serve', async () => {
        await server.close();
        authority.close();
        await audit.close();
      });
      log.info({ listeners: server.addresses, trustDomain: authority.trustDomain, bundle: caFiles(o.dataDir).root, audit: auditPath }, 'flyme ca ready');
    });

  ca.command('join-token').description('a single-use token for an agent\'s first SVID (the CA stores only its hash)')
    .requiredOption('--agent-id <spiffe-id>', 'spiffe://TD/agent/NAME')
    .addOption(secondsOption('--ttl <duration>', 'how long the token may be used', '10m'))
    .addOption(socketOption())
    .action(async (o) => {
      const t = await withAdmin(o.caSocket, (c) => c.createJoinToken(o.agentId, o.ttl));
      out(json(), t, `${t.token}\n(agent ${t.agent_id}; expires ${new Date(t.expires_at * 1000).toISOString()}; single use)`);
    });

  const entry = ca.command('entry').description('registration entries: which workloads (selectors) under which agent get which SPIFFE ID');
  entry.command('create').description('register a workload identity')
    .requiredOption('--spiffe-id <id>', 'the workload\'s SPIFFE ID')
    .requiredOption('--parent <agent-id>', 'the agent that attests the workload (spiffe://TD/agent/NAME)')
    .option('--selector <selector>', 'unix:uid:N | unix:gid:N | unix:user:NAME | unix:group:NAME | unix:path:/abs | unix:sha256:HEX (repeatable; all must match)', collect, [] as string[])
    .addOption(secondsOption('--ttl <duration>', 'SVID lifetime', '1h'))
    .option('--hint <text>', 'operator hint passed to workloads')
    .addOption(socketOption())
    .action(async (o) => {
      if (o.selector.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'give at least one --selector (e.g. unix:uid:1000)');
      const selectors = o.selector.map((s) => parseSelector(s));
      const e = await withAdmin(o.caSocket, (c) => c.createEntry({ spiffe_id: o.spiffeId, parent_id: o.parent, selectors, ttl_seconds: o.ttl, hint: o.hint ?? '' }));
      out(json(), e, `created ${formatEntry(e)}`);
    });
  entry.command('list').description('list entries')
    .option('--parent <agent-id>', 'only the entries of this agent')
    .addOption(socketOption())
    .action(async (o) => {
      const r = await withAdmin(o.caSocket, (c) => c.listEntries(o.parent ?? ''));
      out(json(), r.entries, r.entries.length ? r.entries.map(formatEntry).join('\n') : 'no entries');
    });
  entry.command('delete').description('delete an entry; its SVIDs are revoked and agents drop it at once')
    .argument('<id>', 'the entry id')
    .addOption(socketOption())
    .action(async (id, o) => {
      const r = await withAdmin(o.caSocket, (c) => c.deleteEntry(id));
      out(json(), r, `deleted ${formatEntry(r.entry)}; ${r.revoked} SVID(s) revoked`);
    });

  ca.command('status').description('trust domain, root and intermediate, counts')
    .addOption(socketOption())
    .action(async (o) => {
      const s = await withAdmin(o.caSocket, (c) => c.status());
      out(json(), s, Object.entries(s).map(([k, v]) => `${k}: ${String(v)}`).join('\n'));
    });

  ca.command('rotate-intermediate').description('install a new intermediate signed by an offline root key (the running CA picks it up)')
    .option('--data-dir <dir>', 'the CA directory', defaultCaDir())
    .requiredOption('--root-key <file>', 'the root\'s private key (PKCS#8 PEM)')
    .addOption(secondsOption('--intermediate-ttl <duration>', 'lifetime of the new intermediate', '7d'))
    .action(async (o) => {
      const rootCa = await loadCA({ certPath: caFiles(o.dataDir).root, keyPath: o.rootKey });
      const next = await rotateIntermediate(o.dataDir, rootCa, o.intermediateTtl / 3600);
      process.stdout.write(`new intermediate ${next.cert.serialNumber.toLowerCase()} valid until ${next.cert.notAfter.toISOString()}\n`);
    });
  return ca;
}
