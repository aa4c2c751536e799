/**
 * `flyme envoy config` and `flyme haproxy config`: a proxy configuration that routes TLS by SNI to the
 * registered backends without terminating TLS (what `flyme router` does), written from one snapshot of the
 * registry. The proxy does not follow the registry: regenerate and reload it when registrations change
 * (docs/mesh.md).
 */
import { Command } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../files/atomic-write.js';
import { registrySnapshot, registryTarget, type IdentityFlags } from './registry-access.js';

const IDENTITY = 'its identity (to read the registry): --certs DIR (client.pem, client.key.pem, root-ca.pem) or --spiffe-socket URL';

async function emit(text: string, out: string | undefined): Promise<void> {
  if (out) await writeFileAtomic(out, text, { mode: 0o644, overwrite: true });
  else process.stdout.write(text);
}

function configCommand(what: string) {
  return new Command('config')
    .requiredOption('--registry <url>', 'the registry: tls://host:port or unix+tls:///path')
    .requiredOption('--registry-id <spiffe-id>', 'the registry\'s SPIFFE ID, checked in its certificate')
    .option('--listen <ip:port>', `where the ${what} listener accepts clients`, '127.0.0.1:8443')
    .option('--out <file>', 'write here (atomically, mode 0644) instead of stdout');
}

export function envoyCommand(identity: IdentityFlags): Command {
  const envoy = new Command('envoy').description('Envoy configuration from the registry (flyme envoy config --help)');
  envoy.addCommand(configCommand('Envoy').description(`print an Envoy v3 bootstrap (YAML) routing TLS by SNI (tls_inspector, one filter chain per registered SNI, tcp_proxy to its addresses; unknown SNI: no chain, closed) from one snapshot of the registry; regenerate when registrations change; ${IDENTITY}`)
    .action(async (o) => {
      registryTarget(o.registry);
      const [{ routesBySni, parseListen }, { envoyBootstrap }] = await Promise.all([import('../mesh/proxy-routes.js'), import('../mesh/envoy-config.js')]);
      const listen = parseListen(o.listen);
      const routes = routesBySni(await registrySnapshot(identity, o));
      const header = `# Envoy bootstrap written by flyme envoy config from the registry ${o.registry} (${o.registryId}).\n# Envoy does not follow the registry: regenerate and restart Envoy when registrations change.\n`;
      await emit(header + stringify(envoyBootstrap(routes, listen), { lineWidth: 0 }), o.out);
    }));
  return envoy;
}

export function haproxyCommand(identity: IdentityFlags): Command {
  const haproxy = new Command('haproxy').description('HAProxy configuration from the registry (flyme haproxy config --help)');
  haproxy.addCommand(configCommand('HAProxy').description(`print an HAProxy (2.6) configuration routing TLS by SNI (mode tcp, req.ssl_sni, one backend per registered SNI; unknown SNI: no backend, closed) from one snapshot of the registry; regenerate and reload when registrations change; ${IDENTITY}`)
    .option('--maxconn <n>', 'most concurrent connections', '4096')
    .action(async (o) => {
      registryTarget(o.registry);
      const [{ routesBySni, parseListen }, { haproxyConfig }, { flymeError }] = await Promise.all([import('../mesh/proxy-routes.js'), import('../mesh/haproxy-config.js'), import('../errors.js')]);
      const listen = parseListen(o.listen);
      const maxconn = Number(o.maxconn);
      if (!/^\d+$/.test(o.maxconn) || maxconn < 1 || maxconn > 1_000_000) throw flymeError('FLYME_INVALID_CONFIG', `--maxconn must be a whole number from 1 to 1000000, not "${o.maxconn}"`);
      const routes = routesBySni(await registrySnapshot(identity, o));
      await emit(haproxyConfig(routes, { listen, maxconn, comment: `HAProxy configuration written by flyme haproxy config from the registry ${o.registry} (${o.registryId})` }), o.out);
    }));
  return haproxy;
}
