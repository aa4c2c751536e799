/**
 * `flyme service`: the attested service (docs/mesh.md). It takes its SVID from --certs DIR (--svid NAME) or the
 * Workload API, registers {sni, bind-ip, port} in the registry and keeps it renewed, and serves
 * endpoint.Endpoint (Connect, Whoami) over mutual TLS on bind-ip:port.
 */
import { isIP } from 'node:net';
import { Command, Option } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { flymeError } from '../errors.js';
import type { X509Source } from '../identity/source/types.js';
import { onStopSignals } from './signals.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const port = (v: string): number => {
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n > 65535) throw flymeError('FLYME_INVALID_CONFIG', `--port must be 0-65535 (0: a free port), not "${v}"`);
  return n;
};
const bindIp = (v: string): string => {
  if (isIP(v) === 0) throw flymeError('FLYME_INVALID_CONFIG', `--bind-ip "${v}" is not an IPv4 or IPv6 address`);
  if (v === '0.0.0.0' || v === '::') throw flymeError('FLYME_INVALID_CONFIG', `--bind-ip ${v} is not one address: the registry needs the address clients reach (e.g. 127.0.0.2)`);
  return v;
};

export function serviceCommand(identity: () => { certs?: string | undefined; spiffeSocket?: string | undefined }): Command {
  return new Command('service')
    .description('the attested service: registers --sni in the registry (renewed every ttl/3, deregistered on SIGTERM/SIGINT) and serves endpoint.Endpoint (Connect, Whoami) over mutual TLS 1.3 on --bind-ip:--port with reflection on, and an egress proxy per --upstream; its identity: --certs DIR (DIR/NAME.pem, DIR/NAME.key.pem, DIR/root-ca.pem with --svid NAME) or --spiffe-socket URL')
    .requiredOption('--sni <name>', 'the name it registers and the TLS server name clients use, e.g. service-a.example.org (its SPIFFE ID must own it)')
    .requiredOption('--registry <url>', 'the registry: tls://host:port or unix+tls:///path')
    .option('--registry-id <spiffe-id>', 'the registry\'s SPIFFE ID, checked in its certificate (default: any SPIFFE ID of this service\'s trust domain, with a warning: pin it)')
    .option('--bind-ip <ip>', 'the address it serves on and registers (one address, not 0.0.0.0 or ::)', bindIp, '127.0.0.1')
    .option('--port <port>', 'the port it serves on and registers (0: a free port)', port, 9005)
    .option('--router <ip:port>', 'the SNI router (flyme router): Connect requests with an empty address go through it')
    .option('--proxy-port <port>', 'the egress proxy: the local port (127.0.0.1) of the first --upstream given without =PORT; with no such --upstream, an HTTP CONNECT proxy there (CONNECT NAME:PORT names a registered upstream)', port)
    .option('--upstream <name[=port]>', 'an upstream reached through the egress proxy: plain TCP on 127.0.0.1:PORT (or --proxy-port) becomes mutual TLS to NAME\'s registered address (through --router when set), its SPIFFE ID checked against the registry\'s owner; repeatable', collect, [] as string[])
    .addOption(new Option('--allow-connect <spiffe-id>', 'a SPIFFE ID that may call Connect, repeatable (Whoami is open to its trust domain)').argParser(collect).default([] as string[], 'only this service\'s own SPIFFE ID'))
    .option('--svid <name>', 'with --certs DIR: the SVID files DIR/NAME.pem and DIR/NAME.key.pem (trust bundle DIR/root-ca.pem)', 'server')
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(async (o) => {
      const log = pino({ name: 'flyme-service', level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
      const [{ parseSni, parseTarget }, { serveEndpoint }, { keepRegistered }, { RegistryClient }, { SpiffeId }, { startEgressProxy, parseUpstreams }] = await Promise.all([
        import('../mesh/service/target.js'), import('../mesh/service/endpoint.js'), import('../mesh/service/registration.js'),
        import('../mesh/registry-client.js'), import('../identity/spiffe-id.js'), import('../mesh/egress.js'),
      ]);
      const upstreams = parseUpstreams(o.proxyPort, o.upstream);
      const sni = parseSni(o.sni);
      const router = o.router ? parseTarget(o.router, '--router') : undefined;
      if (router && isIP(router.host) === 0) throw flymeError('FLYME_INVALID_CONFIG', `--router ${o.router}: give IP:PORT`);
      const allow = o.allowConnect.map((id) => SpiffeId.parse(id).toString());
      if (o.registryId !== undefined) SpiffeId.parse(o.registryId);
      const source: X509Source = await (await import('./registry-access.js')).clientSource(identity, (e) => log.warn({ event: 'workload_api_error', code: e.code }, e.message), o.svid);
      const self = source.svid().spiffeId.toString();
      const cleanup: Array<() => Promise<void> | void> = [() => source.close()];
      const stopAll = async () => { for (const c of cleanup.reverse()) await c(); };
      try {
        const td = source.svid().spiffeId.trustDomain;
        if (o.registryId === undefined) log.warn({ event: 'registry_id_unpinned', trustDomain: td }, `no --registry-id: any SPIFFE ID of ${td} is accepted as the registry; pin it with --registry-id`);
        const { authorizeMemberOf } = await import('../identity/authorizer.js');
        const registry = await RegistryClient.connect({ url: o.registry, registryId: o.registryId ?? authorizeMemberOf(td), source });
        cleanup.push(() => registry.close());
        const owners = async (name: string) => (await registry.resolveSni(name)).map((r) => r.owner);
        const endpoint = await serveEndpoint({
          source, owners, listen: `${isIP(o.bindIp) === 6 ? `[${o.bindIp}]` : o.bindIp}:${o.port}`,
          allowConnect: allow.length ? allow : [self], ...(router ? { router } : {}),
          onConnect: (caller, r) => (r.ok ? log.info({ event: 'connect', caller, peer: r.peer }, 'Connect verified its peer') : log.warn({ event: 'connect_refused', caller, code: r.code }, r.message)),
        });
        cleanup.push(() => endpoint.close());
        const egress: string[] = [];
        for (const u of upstreams) {
          const proxy = await startEgressProxy({
            listen: { host: '127.0.0.1', port: u.port }, ...(u.name ? { upstream: u.name } : {}), registry, source, ...(router ? { router } : {}),
            onEvent: (e) => (e.kind === 'accepted' ? log.info({ event: 'egress_accepted', ...e }, 'egress connection verified its upstream') : log.warn({ event: `egress_${e.kind}`, ...e }, `egress connection ${e.kind}`)),
          });
          cleanup.push(() => proxy.close());
          egress.push(`127.0.0.1:${proxy.port} → ${u.name ?? 'HTTP CONNECT'}`);
        }
        const reg = await keepRegistered(registry, { name: sni, address: o.bindIp, port: endpoint.port }, {
          renewed: (r) => log.debug({ event: 'renewed', expiresAt: r.expiresAt }, 'registration renewed'),
          reregistered: (r) => log.warn({ event: 'reregistered', expiresAt: r.expiresAt }, 'registration had expired: registered again'),
          failed: (e) => log.warn({ event: 'registration_error', code: (e as { code?: string }).code }, e.message),
        });
        cleanup.push(async () => { await reg.stop(); log.info({ event: 'deregistered', name: sni }, 'registration removed'); });
        const listen = `${isIP(o.bindIp) === 6 ? `[${o.bindIp}]` : o.bindIp}:${endpoint.port}`;
        // The stop handlers are in place before the ready line: a SIGTERM sent the moment it appears must find them.
        onStopSignals('flyme service', stopAll);
        log.info({ id: self, listen, record: reg.record, ttlSeconds: reg.ttlSeconds, registry: o.registry, router: o.router, egress }, 'flyme service ready');
      } catch (err) {
        await stopAll();
        throw err;
      }
    });
}
