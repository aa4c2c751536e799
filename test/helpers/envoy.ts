/**
 * What Envoy requires of the bootstrap `flyme envoy config` writes, checked field by field (the v3 protos'
 * validation rules for the fields it uses: @type URLs, required fields, unknown fields refused, clusters
 * referenced exist, one filter chain per SNI). Envoy is not packaged for Debian, so it cannot load the file
 * in the tests; HAProxy proves the same routing for real (test/scenarios/mesh-haproxy-routes).
 */
import assert from 'node:assert/strict';
import { TCP_PROXY, TLS_INSPECTOR } from '../../src/mesh/envoy-config.js';

export type Obj = Record<string, unknown>;
const obj = (v: unknown, at: string): Obj => { assert.ok(v && typeof v === 'object' && !Array.isArray(v), `${at} is a mapping`); return v as Obj; };
const arr = (v: unknown, at: string, min = 0): unknown[] => { assert.ok(Array.isArray(v) && v.length >= min, `${at} is a list of at least ${min}`); return v; };
const str = (v: unknown, at: string): string => { assert.ok(typeof v === 'string' && v.length > 0, `${at} is a non-empty string`); return v; };
const duration = (v: unknown, at: string) => assert.match(str(v, at), /^\d+(\.\d+)?s$/, `${at} is a positive duration`);
/** Only the fields listed: a misspelled field is an error for Envoy (unknown field in a static bootstrap). */
const only = (o: Obj, at: string, allowed: string[]) => { for (const k of Object.keys(o)) assert.ok(allowed.includes(k), `${at}.${k} is a field Envoy knows here`); };

/** A SocketAddress: `address` an IP (no brackets), `port_value` 0-65535. */
function socketAddress(v: unknown, at: string): { address: string; port: number } {
  const a = obj(obj(v, at).socket_address, `${at}.socket_address`);
  only(a, `${at}.socket_address`, ['address', 'port_value']);
  const address = str(a.address, `${at}.socket_address.address`);
  assert.doesNotMatch(address, /[[\]]/, `${at}: Envoy wants IPv6 without brackets`);
  assert.ok(Number.isInteger(a.port_value) && (a.port_value as number) >= 0 && (a.port_value as number) <= 65535, `${at}.port_value`);
  return { address, port: a.port_value as number };
}

/** What Envoy requires of this bootstrap (v3 protos' validation rules for the fields used); returns sni → backends. */
export function checkEnvoy(doc: unknown): Map<string, string[]> {
  const root = obj(doc, 'bootstrap');
  only(root, 'bootstrap', ['static_resources', 'admin']);
  assert.equal(root.admin, undefined, 'no admin interface');
  const sr = obj(root.static_resources, 'static_resources');
  only(sr, 'static_resources', ['listeners', 'clusters']);
  const clusters = new Map<string, string[]>();
  arr(sr.clusters, 'clusters').forEach((c0, i) => {
    const at = `clusters[${i}]`;
    const c = obj(c0, at);
    only(c, at, ['name', 'type', 'connect_timeout', 'lb_policy', 'load_assignment']);
    const name = str(c.name, `${at}.name`);
    assert.ok(!clusters.has(name), `${at}: cluster names are unique`);
    assert.ok(['STATIC', 'STRICT_DNS'].includes(c.type as string), `${at}.type`);
    duration(c.connect_timeout, `${at}.connect_timeout`);
    assert.equal(c.lb_policy, 'ROUND_ROBIN');
    const la = obj(c.load_assignment, `${at}.load_assignment`);
    assert.equal(la.cluster_name, name, `${at}.load_assignment.cluster_name is the cluster's name`);
    const backends = arr(la.endpoints, `${at}.load_assignment.endpoints`, 1).flatMap((e, j) =>
      arr(obj(e, `${at}.endpoints[${j}]`).lb_endpoints, `${at}.endpoints[${j}].lb_endpoints`, 1).map((l, k) => {
        const s = socketAddress(obj(obj(l, `${at}.lb_endpoints[${k}]`).endpoint, 'endpoint').address, `${at}.lb_endpoints[${k}].endpoint.address`);
        return `${s.address}|${s.port}`;
      }));
    clusters.set(name, backends);
  });
  const listeners = arr(sr.listeners, 'listeners');
  if (clusters.size === 0 && listeners.length === 0) return new Map(); // nothing registered: no listener
  assert.equal(listeners.length, 1);
  const l = obj(listeners[0], 'listeners[0]');
  only(l, 'listener', ['name', 'address', 'listener_filters', 'filter_chains', 'listener_filters_timeout', 'continue_on_listener_filters_timeout', 'per_connection_buffer_limit_bytes']);
  str(l.name, 'listener.name');
  socketAddress(l.address, 'listener.address');
  duration(l.listener_filters_timeout, 'listener.listener_filters_timeout');
  const lf = arr(l.listener_filters, 'listener_filters', 1).map((f) => obj(f, 'listener_filter'));
  assert.deepEqual(lf.map((f) => [f.name, obj(f.typed_config, 'typed_config')['@type']]), [['envoy.filters.listener.tls_inspector', TLS_INSPECTOR]]);
  const routes = new Map<string, string[]>();
  const used = new Set<string>();
  arr(l.filter_chains, 'filter_chains', 1).forEach((fc0, i) => {
    const at = `filter_chains[${i}]`;
    const fc = obj(fc0, at);
    only(fc, at, ['name', 'filter_chain_match', 'filters']);
    const m = obj(fc.filter_chain_match, `${at}.filter_chain_match`);
    only(m, `${at}.filter_chain_match`, ['server_names']);
    const names = arr(m.server_names, `${at}.server_names`, 1).map((n) => str(n, `${at}.server_names[]`));
    const filters = arr(fc.filters, `${at}.filters`, 1).map((f) => obj(f, `${at}.filters[]`));
    assert.equal(filters.length, 1);
    assert.equal(filters[0]!.name, 'envoy.filters.network.tcp_proxy');
    const tc = obj(filters[0]!.typed_config, `${at}.typed_config`);
    only(tc, `${at}.typed_config`, ['@type', 'stat_prefix', 'cluster']);
    assert.equal(tc['@type'], TCP_PROXY);
    str(tc.stat_prefix, `${at}.stat_prefix`);
    const cluster = str(tc.cluster, `${at}.cluster`);
    assert.ok(clusters.has(cluster), `${at}: cluster ${cluster} exists`);
    used.add(cluster);
    for (const n of names) {
      assert.ok(!routes.has(n), `SNI ${n} in one filter chain only (Envoy refuses duplicate matches)`);
      routes.set(n, clusters.get(cluster)!);
    }
  });
  assert.deepEqual([...clusters.keys()].filter((c) => !used.has(c)), [], 'no unused cluster');
  return routes;
}
