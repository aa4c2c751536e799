/**
 * `flyme registry serve`: the service registry (gRPC over mutual TLS, reflection on) and, with --dns, its DNS
 * server. See docs/mesh.md.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { AuditLog } from '../audit/log.js';
import { limitSecurityEvents } from '../auth/events.js';
import { coalesceSecurityEvents } from '../auth/coalesce-events.js';
import { flymeError, type FlyMeError } from '../errors.js';
import type { X509Source } from '../identity/source/types.js';
import { secondsOption } from '../options/flags.js';
import { ANONYMOUS_NOISE } from './ca.js';
import { addRegistryClientCommands } from './registry-client.js';
import type { IdentityFlags } from './registry-access.js';
import { onStopSignals } from './signals.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const positive = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1_000_000) throw flymeError('FLYME_INVALID_CONFIG', `${what} must be a whole number from 1 to 1000000, not "${v}"`);
  return n;
};
export const defaultRegistryDir = (): string => (process.getuid?.() === 0 ? '/var/lib/flyme/registry' : join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'flyme', 'registry'));

/**
 * The serving identity (serve) comes from flyme's global options: --certs DIR (server.pem, server.key.pem,
 * root-ca.pem) or --spiffe-socket URL; resolve and watch use the client side of the same flags (client.pem …).
 */
export function registryCommand(identity: IdentityFlags, json: () => boolean = () => false): Command {
  const registry = new Command('registry').description('the service registry: names owned by SPIFFE IDs (policy file), expiring registrations, a DNS server (docs/mesh.md)');
  registry.command('serve').description('serve flyme.mesh.v1.Registry over mutual TLS (reflection on) and, with --dns, answer DNS for the zone; its identity: --certs DIR (server.pem, server.key.pem, root-ca.pem) or --spiffe-socket URL')
    .requiredOption('--zone <domain>', 'the zone every registered name lies in, e.g. example.org')
    .requiredOption('--policy <file>', 'YAML/JSON file with a registry: section (names and templates → owner SPIFFE IDs); SIGHUP re-reads it (all or nothing) and removes records whose owner it no longer names')
    .option('--listen <url>', 'mTLS listener, repeatable: tls://127.0.0.1:9090, tls://[::1]:9090, unix+tls:///run/flyme/registry.sock', collect, [] as string[])
    .option('--dns <ip:port>', 'also serve DNS on UDP and TCP at this address, e.g. 127.0.0.1:10053')
    .addOption(secondsOption('--ttl <duration>', 'registrations expire after this long unless renewed', '30s', { name: '--ttl', maxMs: 86_400_000 }))
    .addOption(new Option('--max-names <n>', 'most names registered at once').argParser(positive('--max-names')).default(1024))
    .addOption(new Option('--max-records <n>', 'most records per name').argParser(positive('--max-records')).default(16))
    .addOption(new Option('--dns-rate <n>', 'DNS queries per second per source address (burst twice that)').argParser(positive('--dns-rate')).default(50))
    .option('--data-dir <dir>', 'state (state.json, 0600), audit log and its key', defaultRegistryDir())
    .option('--audit-log <file>', 'signed audit log of changes and refusals (default DATA_DIR/audit.log)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(async (o) => {
      const log = pino({ name: 'flyme-registry', level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
      const ignoreHup = () => {}; // a reload signal before the registry is ready must not kill it (SIGHUP's default)
      process.on('SIGHUP', ignoreHup);
      const [{ parseZone }, { Ownership }, { Registry }, { serveRegistry }] = await Promise.all([
        import('../mesh/names.js'), import('../mesh/ownership.js'), import('../mesh/registry.js'), import('../mesh/server.js'),
      ]);
      const { certs, spiffeSocket } = identity();
      if (!certs === !spiffeSocket) throw flymeError('FLYME_INVALID_CONFIG', 'give exactly one serving identity: --certs DIR or --spiffe-socket URL');
      const zone = parseZone(o.zone);
      const ownership = Ownership.load(o.policy, zone);
      const source: X509Source = certs
        ? await (await import('../identity/source/files.js')).certsDirSource(certs, 'server')
        : await (await import('../spiffe/source.js')).workloadX509Source({ address: spiffeSocket!, onStreamError: (e) => log.warn({ event: 'workload_api_error', code: e.code }, e.message) });
      const auditPath = o.auditLog ?? join(o.dataDir, 'audit.log');
      const audit = await AuditLog.open({ path: auditPath, keyPath: join(o.dataDir, 'audit-key.pem') });
      const events = coalesceSecurityEvents(limitSecurityEvents(audit, [...ANONYMOUS_NOISE, 'registration_refused']));
      const reg = await Registry.open({ zone, ownership, statePath: join(o.dataDir, 'state.json'), ttlSeconds: o.ttl, maxNames: o.maxNames, maxRecordsPerName: o.maxRecords, events });
      const cleanup: Array<() => Promise<void> | void> = [() => reg.close(), () => audit.close(), () => source.close()];
      const stopAll = async () => { for (const c of cleanup.reverse()) await c(); };
      try {
        const server = await serveRegistry({ registry: reg, source, listen: o.listen.length ? o.listen : ['tls://127.0.0.1:9090'], events });
        cleanup.push(() => server.close());
        let dnsAddress: string | undefined;
        if (o.dns) {
          const { startDnsServer } = await import('../mesh/dns-server.js');
          const dns = await startDnsServer({ address: o.dns, view: { zone, lookup: (n) => reg.lookup(n), maxTtl: o.ttl }, rateLimit: { perSecond: o.dnsRate, burst: o.dnsRate * 2 } });
          cleanup.push(() => dns.close());
          dnsAddress = `${dns.host.includes(':') ? `[${dns.host}]` : dns.host}:${dns.port}`;
        }
        // The reload and stop handlers are in place before the ready line: a SIGTERM or SIGHUP sent the moment it
        // appears must find them, not Node's default action (exit by signal, no clean stop).
        // SIGHUP: the policy file again, all or nothing; records whose owner it no longer names are removed
        process.off('SIGHUP', ignoreHup);
        process.on('SIGHUP', () => {
          let next: ReturnType<typeof Ownership.load>;
          try {
            next = Ownership.load(o.policy, zone);
          } catch (err) {
            const e = err as FlyMeError;
            log.error({ event: 'policy_reload_failed', code: e.code, file: o.policy }, `policy reload refused, keeping the running rules: ${e.message}`);
            events.emit({ kind: 'policy_reload_failed', severity: 'critical', source: 'registry', subject: o.policy, decision: 'deny', reason: e.code, message: `registry policy reload (SIGHUP) refused, keeping the running rules: ${e.message}` });
            return;
          }
          reg.setOwnership(next).then((gone) => {
            log.info({ event: 'policy_reloaded', file: o.policy, removed: gone.map((r) => `${r.name} ${r.address} ${r.port}`) }, `registry policy reloaded; ${gone.length} record(s) whose owner it no longer names removed`);
            events.emit({ kind: 'policy_reloaded', severity: 'info', source: 'registry', subject: o.policy, decision: 'allow', message: `registry policy reloaded (SIGHUP); ${gone.length} record(s) removed`, details: { removed: gone.length } });
          }, (err: Error) => log.error({ event: 'state_write_failed', file: o.policy }, `registry policy applied, but the state file could not be written: ${err.message}`));
        });
        onStopSignals('flyme registry serve', stopAll);
        log.info({ listeners: server.addresses, dns: dnsAddress, zone, id: source.svid().spiffeId.toString(), ttlSeconds: o.ttl, audit: auditPath }, 'flyme registry ready');
      } catch (err) {
        await stopAll();
        throw err;
      }
    });
  addRegistryClientCommands(registry, identity, json);
  return registry;
}
