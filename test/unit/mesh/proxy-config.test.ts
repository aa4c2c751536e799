// The Envoy bootstrap and the HAProxy configuration generated from registry records: the structure Envoy
// requires (checked field by field by test/helpers/envoy.ts, as Envoy's proto validation would), the routes equal to the records,
// stable output, and records that could inject configuration refused. The HAProxy text passes `haproxy -c`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { checkEnvoy, type Obj } from '../../helpers/envoy.js';
import { envoyBootstrap } from '../../../src/mesh/envoy-config.js';
import { haproxyConfig } from '../../../src/mesh/haproxy-config.js';
import { parseListen, routesBySni } from '../../../src/mesh/proxy-routes.js';

const RECORDS = [
  { name: 'service-b.example.org', sni: 'service-b.example.org', address: '127.0.0.2', port: 9002, owner: 'spiffe://example.org/svc/service-b' },
  { name: 'service-a.example.org', sni: 'service-a.example.org', address: '::1', port: 9001, owner: 'spiffe://example.org/svc/service-a' },
  { name: 'service-a.example.org', sni: 'service-a.example.org', address: '10.0.0.1', port: 9001, owner: 'spiffe://example.org/svc/service-a' },
  { name: 'api.example.org', sni: 'service-a.example.org', address: '10.0.0.9', port: 443, owner: 'spiffe://example.org/svc/service-a' },
];

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
