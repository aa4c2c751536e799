/** `flyme router`: TLS passthrough by SNI to the backends registered in a registry (docs/mesh.md). */
import { Command } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { clientSource, registryTarget, type IdentityFlags } from './registry-access.js';
import { onStopSignals } from './signals.js';

/** The router's own identity (for its Watch of the registry): flyme's global --certs DIR (client.pem …) or --spiffe-socket URL. */
export function routerCommand(identity: IdentityFlags): Command {
  return new Command('router').description('route TLS connections by SNI to registered backends without terminating TLS (routes follow the registry\'s Watch; unknown SNI is closed); its identity: --certs DIR (client.pem, client.key.pem, root-ca.pem) or --spiffe-socket URL')
    .requiredOption('--registry <url>', 'the registry: tls://host:port or unix+tls:///path')
    .requiredOption('--registry-id <spiffe-id>', 'the registry\'s SPIFFE ID, checked in its certificate')
    .option('--listen <ip:port>', 'where clients connect', '127.0.0.1:8443')
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(async (o) => {
      const log = pino({ name: 'flyme-router', level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
      const target = registryTarget(o.registry);
      const [{ RouteTable, startRouter }, { followRegistry }] = await Promise.all([import('../mesh/router.js'), import('../mesh/follow.js')]);
      const source = await clientSource(identity);
      const table = new RouteTable();
      const follow = await followRegistry({
        target, registryId: o.registryId, source, table,
        onState: (s, detail) => (s === 'synced' ? log.info({ event: 'routes_synced' }, 'routes follow the registry') : log.warn({ event: 'registry_lost', detail }, 'registry watch lost; no routes until it is back')),
      });
      const router = await startRouter({
        listen: o.listen, routes: table,
        events: { emit: (e) => log.info({ event: e.kind, sni: e.subject }, e.message) },
      }).catch((e: Error) => { follow.close(); source.close(); throw e; });
      // The stop handlers are in place before the ready line: a SIGTERM sent the moment it appears must find them.
      onStopSignals('flyme router', async () => { await router.close(); follow.close(); source.close(); });
      log.info({ listen: `${router.host.includes(':') ? `[${router.host}]` : router.host}:${router.port}`, registry: o.registry }, 'flyme router ready');
    });
}
