// `flyme registry serve` re-reads its policy file on SIGHUP, all or nothing. A file with one bad rule is
// refused whole (logged, audited): the running rules stay (service-a's record stays, service-a may still
// register). A valid file that no longer names service-a's owner removes service-a's record at once: the
// watcher gets DEREGISTERED, Resolve and DNS no longer know it, the audit log says it was revoked, and
// service-a can no longer register (attack); service-b, still named, keeps its record (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, query, rcode, registryClient, sleep, startRegistry, udpQuery } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const KEEPS_B_ONLY = `registry:
  names:
    db.example.org: [spiffe://example.org/db]
    service-b.example.org: [${B}]
`;

test('registry: SIGHUP reloads the policy all or nothing; records whose owner it no longer names are removed', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-reload-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  const changes: Array<{ kind: string; record?: { name: string; address: string } }> = [];
  const watch = a.watch();
  watch.on('data', (m: (typeof changes)[number]) => changes.push(m));
  watch.on('error', () => undefined);
  const logged = async (text: string, n: number) => {
    for (let i = 0; (reg.proc.log().split(text).length - 1) < n; i++) { assert.ok(i < 400, `no "${text}" in the log:\n${reg.proc.log()}`); await sleep(25); }
  };
  const dnsRcode = async (name: string) => rcode((await udpQuery(reg.dns!.port, query(name)))!);
  try {
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9001 });
    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9002 });
    while (!changes.some((c) => c.kind === 'SYNCED')) await sleep(20);

    // a file with one bad rule: refused whole, the running rules kept
    writeFileSync(join(dir, 'policy.yaml'), `${KEEPS_B_ONLY}  templates:\n    - name: "{name}.example.org"\n      owner: "spiffe://example.org/no-placeholder"\n`);
    reg.proc.proc.kill('SIGHUP');
    await logged('policy reload refused', 1);
    assert.match(reg.proc.log(), /policy\.yaml:\d+.*templates/);
    assert.equal(await dnsRcode('service-a.example.org'), 0);
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9003 }); // service-a still owns its name
    assert.deepEqual(changes.filter((c) => c.kind === 'DEREGISTERED'), []);

    // a valid file without service-a's owner: its records go, service-b's stay
    writeFileSync(join(dir, 'policy.yaml'), KEEPS_B_ONLY);
    reg.proc.proc.kill('SIGHUP');
    await logged('registry policy reloaded', 1);
    for (let i = 0; changes.filter((c) => c.kind === 'DEREGISTERED').length < 2; i++) { assert.ok(i < 200, JSON.stringify(changes)); await sleep(25); }
    assert.deepEqual(changes.filter((c) => c.kind === 'DEREGISTERED').map((c) => c.record!.name), ['service-a.example.org', 'service-a.example.org']);
    await assert.rejects(b.call('Resolve', { name: 'service-a.example.org' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    assert.equal(await dnsRcode('service-a.example.org'), 3); // NXDOMAIN
    await assert.rejects(a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9001 }),
      (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && /no rule in .*policy\.yaml gives service-a\.example\.org an owner/.test(e.details));
    // control: service-b is still named, its record and its DNS answer stay
    const r = await a.call<{ records: Array<{ address: string }> }>('Resolve', { name: 'service-b.example.org' });
    assert.deepEqual(r.records.map((x) => x.address), ['127.0.0.3']);
    assert.equal(await dnsRcode('service-b.example.org'), 0);
  } finally {
    watch.cancel();
    a.close();
    b.close();
    await reg.proc.stop();
  }
  const log = readFileSync(join(dir, 'data', 'audit.log'), 'utf8');
  assert.match(log, /policy_reload_failed/);
  assert.match(log, /registration_changed.*service-a\.example\.org at 127\.0\.0\.2 port 9001 removed: .*no longer names its owner/);
  assert.match(log, /"reason":"revoked"/);
  assert.match(log, /policy_reloaded/);
  // the state file no longer has them either
  const state = JSON.parse(readFileSync(join(dir, 'data', 'state.json'), 'utf8')) as { records: Array<{ name: string }> };
  assert.deepEqual(state.records.map((x) => x.name), ['service-b.example.org']);
  const v = await runCli(['audit-log', 'verify', join(dir, 'data', 'audit.log')]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(v.code, 0, v.stdout + v.stderr);
});
