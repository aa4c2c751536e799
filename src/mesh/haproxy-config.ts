/**
 * `flyme haproxy config`: an HAProxy (2.6) configuration doing what `flyme router` does, from one registry
 * snapshot: a `mode tcp` frontend waits (at most 5 s) for a TLS ClientHello, routes by its SNI
 * (`req.ssl_sni`) to one backend per SNI holding that SNI's registered addresses (round robin), without
 * terminating TLS. There is no default backend: an unknown or missing SNI reaches no backend and HAProxy
 * closes the connection. Every name and address was checked by routesBySni (no injection into the file).
 */
import { isIP } from 'node:net';
import { type SniRoute, sniId } from './proxy-routes.js';

export interface HaproxyOptions {
  listen: { host: string; port: number };
  /** Most concurrent connections (global and frontend; default 4096). */
  maxconn?: number;
  /** A comment line on top (where the routes came from); must be one line. */
  comment?: string;
}

const hostPort = (host: string, port: number) => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

export function haproxyConfig(routes: readonly SniRoute[], o: HaproxyOptions): string {
  const maxconn = o.maxconn ?? 4096;
  const lines: string[] = [];
  if (o.comment) lines.push(`# ${o.comment.replace(/[\r\n]+/g, ' ')}`);
  lines.push(
    '# Regenerate (flyme haproxy config) and reload HAProxy when registrations change: this file does not follow the registry.',
    'global',
    `    maxconn ${maxconn}`,
    '    log stderr format short local0 info',
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    option tcplog',
    '    timeout connect 5s',
    '    timeout client 5m',
    '    timeout server 5m',
    '    timeout client-fin 30s',
    '    timeout server-fin 30s',
    '',
    'frontend flyme_sni',
    `    bind ${hostPort(o.listen.host, o.listen.port)}`,
    `    maxconn ${maxconn}`,
    '    tcp-request inspect-delay 5s',
    '    tcp-request content accept if { req_ssl_hello_type 1 }',
    '    tcp-request content reject',
  );
  for (const r of routes) lines.push(`    use_backend ${sniId(r.sni)} if { req.ssl_sni -i ${r.sni} }`);
  lines.push('    # no default_backend: a connection whose SNI is not registered is closed');
  for (const r of routes) {
    lines.push('', `backend ${sniId(r.sni)}`, '    balance roundrobin');
    r.backends.forEach((b, i) => lines.push(`    server ${sniId(r.sni)}_${i} ${hostPort(b.address, b.port)}`));
  }
  return `${lines.join('\n')}\n`;
}
