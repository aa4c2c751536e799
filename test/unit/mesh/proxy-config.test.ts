// The Envoy bootstrap and the HAProxy configuration generated from registry records: the structure Envoy
// requires (checked field by field below, as Envoy's proto validation would), the routes equal to the records,
// stable output, and records that could inject configuration refused. The HAProxy text passes `haproxy -c`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { envoyBootstrap, TCP_PROXY, TLS_INSPECTOR } from '../../../src/mesh/envoy-config.js';
import { haproxyConfig } from '../../../src/mesh/haproxy-config.js';
import { parseListen, routesBySni } from '../../../src/mesh/proxy-routes.js';

const RECORDS = [
  { name: 'service-b.example.org', sni: 'service-b.example.org', address: '127.0.0.2', port: 9002, owner: 'spiffe://example.org/svc/service-b' },
  { name: 'service-a.example.org', sni: 'service-a.example.org', address: '::1', port: 9001, owner: 'spiffe://example.org/svc/service-a' },
  { name: 'service-a.example.org', sni: 'service-a.example.org', address: '10.0.0.1', port: 9001, owner: 'spiffe://example.org/svc/service-a' },
  { name: 'api.example.org', sni: 'service-a.example.org', address: '10.0.0.9', port: 443, owner: 'spiffe://example.org/svc/service-a' },
];

type Obj = Record<string, unknown>;
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
function checkEnvoy(doc: unknown): Map<string, string[]> {
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

test('envoy: the bootstrap has the structure Envoy requires and routes each SNI to exactly its records', () => {
  const text = stringify(envoyBootstrap(routesBySni(RECORDS), parseListen('[::]:8443')));
  const doc = parse(text) as Obj;
  const routes = checkEnvoy(doc);
  assert.deepEqual(Object.fromEntries([...routes].map(([k, v]) => [k, [...v].sort()])), {
    'service-a.example.org': ['10.0.0.1|9001', '10.0.0.9|443', '::1|9001'],
    'service-b.example.org': ['127.0.0.2|9002'],
  });
  const listener = ((doc.static_resources as Obj).listeners as Obj[])[0]!;
  assert.deepEqual(listener.address, { socket_address: { address: '::', port_value: 8443 } });
  // stable: the same records in another order give the same text
  assert.equal(stringify(envoyBootstrap(routesBySni([...RECORDS].reverse()), parseListen('[::]:8443'))), text);
  // the checker itself fails on what Envoy refuses (a filter chain pointing at a missing cluster, a duplicate SNI)
  const broken = parse(text) as Obj;
  (((((broken.static_resources as Obj).listeners as Obj[])[0]!.filter_chains as Obj[])[0]!.filters as Obj[])[0]!.typed_config as Obj).cluster = 'nope';
  assert.throws(() => checkEnvoy(broken), /cluster nope exists/);
  const dup = parse(text) as Obj;
  const chains = ((dup.static_resources as Obj).listeners as Obj[])[0]!.filter_chains as Obj[];
  chains.push(chains[0]!);
  assert.throws(() => checkEnvoy(dup), /in one filter chain only/);
  // nothing registered: no listener (Envoy refuses one without filter chains), still a valid bootstrap
  assert.equal(checkEnvoy(parse(stringify(envoyBootstrap([], parseListen('127.0.0.1:8443'))))).size, 0);
});

test('records that are not valid registry records are refused (no injection into a config file)', () => {
  const base = RECORDS[1]!;
  for (const bad of [
    { ...base, sni: 'a.example.org\n    use_backend x' },
    { ...base, sni: 'a.example.org }' },
    { ...base, name: 'x y.example.org' },
    { ...base, address: '127.0.0.1:80' },
    { ...base, address: 'example.org' },
    { ...base, port: 0 },
    { ...base, port: 70000 },
  ]) assert.throws(() => routesBySni([bad]), { code: 'FLYME_PROTOCOL_ERROR' }, JSON.stringify(bad));
  assert.throws(() => parseListen('127.0.0.1:0'), { code: 'FLYME_INVALID_ADDRESS' });
  assert.throws(() => parseListen('localhost:8443'), { code: 'FLYME_INVALID_ADDRESS' });
});

test('haproxy: one backend per SNI with its records, no default backend, and `haproxy -c` accepts it', () => {
  const cfg = haproxyConfig(routesBySni(RECORDS), { listen: parseListen('127.0.0.1:8443'), comment: 'test' });
  assert.match(cfg, /^ {4}tcp-request inspect-delay 5s$/m);
  assert.match(cfg, /^ {4}tcp-request content accept if \{ req_ssl_hello_type 1 \}$/m);
  assert.match(cfg, /^ {4}use_backend sni_service-a_example_org if \{ req\.ssl_sni -i service-a\.example\.org \}$/m);
  assert.doesNotMatch(cfg, /default_backend /);
  const servers = (b: string) => [...(new RegExp(`^backend ${b}\\n((?: {4}.*\\n)*)`, 'm').exec(cfg)?.[1] ?? '').matchAll(/server \S+ (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(servers('sni_service-a_example_org'), ['10.0.0.1:9001', '10.0.0.9:443', '[::1]:9001']);
  assert.deepEqual(servers('sni_service-b_example_org'), ['127.0.0.2:9002']);
  const dir = mkdtempSync(join(tmpdir(), 'flyme-haproxy-'));
  try {
    for (const [i, text] of [cfg, haproxyConfig([], { listen: parseListen('[::1]:8443') })].entries()) {
      writeFileSync(join(dir, `${i}.cfg`), text);
      const r = spawnSync('haproxy', ['-c', '-f', join(dir, `${i}.cfg`)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    }
    // control: haproxy -c does refuse a broken file
    writeFileSync(join(dir, 'bad.cfg'), cfg.replace('balance roundrobin', 'balance nonsense'));
    assert.notEqual(spawnSync('haproxy', ['-c', '-f', join(dir, 'bad.cfg')]).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
