// parseUpstreams (flyme service's --proxy-port / --upstream NAME[=PORT]) and startEgressProxy's option checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUpstreams, startEgressProxy, type EgressOptions } from '../../../src/mesh/egress.js';
import type { FlyMeError } from '../../../src/errors.js';
import type { X509Source } from '../../../src/identity/source/types.js';

const invalid = (re: RegExp) => (e: FlyMeError) => e.code === 'FLYME_INVALID_CONFIG' && re.test(e.message);

test('parseUpstreams: the first upstream without =PORT goes on --proxy-port, others are pinned', () => {
  assert.deepEqual(parseUpstreams(15001, ['service-b.example.org']), [{ name: 'service-b.example.org', port: 15001 }]);
  assert.deepEqual(parseUpstreams(15001, ['db.example.org=15002', 'Service-B.example.org.', 'c.example.org=15003']), [
    { name: 'db.example.org', port: 15002 }, { name: 'service-b.example.org', port: 15001 }, { name: 'c.example.org', port: 15003 },
  ]);
  assert.deepEqual(parseUpstreams(undefined, ['db.example.org=15002']), [{ name: 'db.example.org', port: 15002 }]);
  assert.deepEqual(parseUpstreams(undefined, []), []);
});

test('parseUpstreams: missing ports, duplicates and bad values are FLYME_INVALID_CONFIG with a clear message', () => {
  assert.throws(() => parseUpstreams(undefined, ['b.example.org']), invalid(/--upstream b\.example\.org has no local port \(no --proxy-port was given\): use --upstream b\.example\.org=PORT/));
  assert.throws(() => parseUpstreams(15001, ['a.example.org', 'b.example.org']), invalid(/--upstream b\.example\.org has no local port \(--proxy-port 15001 already serves a\.example\.org\)/));
  assert.throws(() => parseUpstreams(15001, ['a.example.org', 'A.example.org=15002']), invalid(/a\.example\.org is given twice/));
  assert.throws(() => parseUpstreams(15001, ['a.example.org', 'b.example.org=15001']), invalid(/b\.example\.org and --upstream a\.example\.org both use local port 15001/));
  assert.throws(() => parseUpstreams(undefined, ['a.example.org=15002', 'b.example.org=15002']), invalid(/both use local port 15002/));
  assert.deepEqual(parseUpstreams(15001, []), [{ port: 15001 }], 'alone: an HTTP CONNECT proxy');
  assert.deepEqual(parseUpstreams(15001, ['a.example.org=15002']), [{ name: 'a.example.org', port: 15002 }, { port: 15001 }]);
  assert.throws(() => parseUpstreams(15001, ['a.example.org=15001', 'b.example.org=15002']), invalid(/--proxy-port 15001 and --upstream a\.example\.org both use local port 15001/));
  assert.throws(() => parseUpstreams(70000, ['a.example.org']), invalid(/--proxy-port: port "70000" is not in 1-65535/));
  for (const bad of ['a.example.org=0', 'a.example.org=', 'a.example.org=80x', 'a.example.org=65536']) {
    assert.throws(() => parseUpstreams(undefined, [bad]), invalid(/is not in 1-65535/), bad);
  }
  for (const bad of ['', '=15002', 'under_score.example.org', 'a..example.org', '-a.example.org']) {
    assert.throws(() => parseUpstreams(15001, [bad]), invalid(/is not a DNS name/), bad);
  }
});

test('startEgressProxy: a non-loopback listen address is refused without allowRemote; bad options are named', async () => {
  const base: EgressOptions = {
    listen: { host: '127.0.0.1', port: 0 }, upstream: 'service-b.example.org',
    registry: { resolve: () => Promise.reject(new Error('unused')) }, source: {} as X509Source,
  };
  await assert.rejects(startEgressProxy({ ...base, listen: { host: '0.0.0.0', port: 0 } }), (e: FlyMeError) => e.code === 'FLYME_INVALID_ADDRESS' && /loopback only/.test(e.message));
  await assert.rejects(startEgressProxy({ ...base, listen: { host: '10.1.2.3', port: 15001 } }), (e: FlyMeError) => e.code === 'FLYME_INVALID_ADDRESS');
  await assert.rejects(startEgressProxy({ ...base, upstream: 'not a name' }), invalid(/upstream is not a DNS name/));
  await assert.rejects(startEgressProxy({ ...base, listen: { host: '127.0.0.1', port: 70000 } }), invalid(/listen port 70000/));
  await assert.rejects(startEgressProxy({ ...base, timeoutMs: 0 }), invalid(/timeoutMs 0/));
  await assert.rejects(startEgressProxy({ ...base, maxConnections: -1 }), invalid(/maxConnections -1/));
  await assert.rejects(startEgressProxy({ ...base, router: { host: '127.0.0.1', port: 0 } }), invalid(/router needs/));
  const ok = await startEgressProxy({ ...base, listen: { host: '::1', port: 0 } }).catch(() => startEgressProxy(base));
  assert.ok(ok.port > 0);
  await ok.close();
});
