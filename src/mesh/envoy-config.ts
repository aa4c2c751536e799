/**
 * `flyme envoy config`: an Envoy v3 bootstrap doing what `flyme router` does, from one registry snapshot. One
 * listener with the TLS inspector (reads the ClientHello's SNI, never terminates TLS), one filter chain per
 * SNI matched by `server_names`, each a `tcp_proxy` to a STATIC cluster of that SNI's registered addresses
 * (round robin). No filter chain without `server_names`: a connection whose SNI matches none (or that has no
 * SNI) finds no chain and Envoy closes it. No admin interface. Without any record there is no listener at
 * all (Envoy refuses a listener without filter chains): nothing is routed, connections are refused.
 */
import { type SniRoute, sniId } from './proxy-routes.js';

export const TLS_INSPECTOR = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const socketAddress = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

/** The bootstrap as a plain object (serialize with the `yaml` package). */
export function envoyBootstrap(routes: readonly SniRoute[], listen: { host: string; port: number }): Record<string, unknown> {
  return {
    static_resources: {
      listeners: routes.length === 0 ? [] : [{
        name: 'flyme_sni',
        address: socketAddress(listen.host, listen.port),
        // the ClientHello must arrive within 5 s, as with flyme router; on timeout the connection is closed
        listener_filters_timeout: '5s',
        continue_on_listener_filters_timeout: false,
        per_connection_buffer_limit_bytes: 32768,
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
        filter_chains: routes.map((r) => ({
          name: sniId(r.sni),
          filter_chain_match: { server_names: [r.sni] },
          filters: [{
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: { '@type': TCP_PROXY, stat_prefix: sniId(r.sni), cluster: sniId(r.sni) },
          }],
        })),
      }],
      clusters: routes.map((r) => ({
        name: sniId(r.sni),
        type: 'STATIC',
        connect_timeout: '5s',
        lb_policy: 'ROUND_ROBIN',
        load_assignment: {
          cluster_name: sniId(r.sni),
          endpoints: [{ lb_endpoints: r.backends.map((b) => ({ endpoint: { address: socketAddress(b.address, b.port) } })) }],
        },
      })),
    },
  };
}
