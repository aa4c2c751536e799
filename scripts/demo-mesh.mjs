#!/usr/bin/env node
// `npm run demo:mesh`: the two-service mesh of issue 14 on one host, with the built binaries as a user runs them.
// A CA (flyme certs), the registry with its DNS server, service A on 127.0.0.2 and service B on 127.0.0.3
// (flyme service, each with an egress proxy to the other), the SNI router; A → router → B and B → router → A
// with mutual TLS end to end, each verified peer printed; then a rogue registration of service-b by A and a
// client without an SVID, each refused. Exit 0 only when every step showed what it should. Cleans up on any end.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const flyme = join(root, 'dist/src/cli/flyme.js');
const { SecureGrpcClientBuilder } = await import(join(root, 'dist/src/grpc/client.js'));
const { serviceOf } = await import(join(root, 'dist/src/grpc/proto-files.js'));
const { RegistryClient } = await import(join(root, 'dist/src/mesh/registry-client.js'));
const { certsDirSource } = await import(join(root, 'dist/src/identity/source/files.js'));
const grpc = (await import('@grpc/grpc-js')).default ?? (await import('@grpc/grpc-js'));
const dnsPacket = (await import('dns-packet')).default;

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'flyme-demo-mesh-'));
const certs = join(dir, 'certs');
const TD = 'example.org';
const ID = { a: `spiffe://${TD}/svc/service-a`, b: `spiffe://${TD}/svc/service-b`, registry: `spiffe://${TD}/flymed` };
const procs = [];
const closers = [];

// The temp dir holds the demo CA's private key: remove it however the demo ends (done, error, Ctrl-C, SIGTERM).
const cleanup = () => {
  for (const c of closers.splice(0)) try { c(); } catch { /* closing anyway */ }
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const say = (s) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const show = (s) => process.stdout.write(`   ${s}\n`);
let failed = 0;
const expect = (ok, what) => { show(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failed++; };

const cli = (args) => {
  const r = spawnSync(process.execPath, [flyme, ...args], { encoding: 'utf8' });
  if (r.status !== 0) { process.stderr.write(`flyme ${args.join(' ')} failed:\n${r.stderr}`); process.exit(1); }
  return r.stdout;
};

/** Starts `flyme ARGS` and waits for the JSON log line `ready` on its stderr; returns [process, that line]. */
async function start(name, args, ready) {
  process.stdout.write(`$ flyme ${args.join(' ')}\n`);
  const p = spawn(process.execPath, [flyme, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(p);
  let log = '';
  p.stderr.on('data', (b) => { log += b; });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const line = log.split('\n').map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((l) => l?.msg === ready);
    if (line) return [p, line];
    if (p.exitCode !== null || Date.now() > deadline) { process.stderr.write(`${name} did not start:\n${log}`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const unary = (client, method, req) => new Promise((res, rej) => client[method](req, { deadline: Date.now() + 10_000 }, (e, r) => (e ? rej(e) : res(r))));

say('a CA for trust domain example.org and an SVID per workload (flyme certs init / issue)');
cli(['certs', 'init', '--dir', certs, '--trust-domain', TD]);
for (const n of ['a', 'b']) show(cli(['certs', 'issue', '--ca', certs, '--spiffe-id', ID[n], '--out', join(certs, `service-${n}`)]).trim());
writeFileSync(join(dir, 'registry.yaml'), `registry:\n  templates:\n    - name: "{name}.${TD}"\n      owner: "spiffe://${TD}/svc/{name}"\n`);
show(`registry.yaml: {name}.${TD} may only be registered by spiffe://${TD}/svc/{name}`);

say('the registry (gRPC over mutual TLS) with its DNS server');
const [, reg] = await start('registry', ['--certs', certs, 'registry', 'serve', '--zone', TD, '--policy', join(dir, 'registry.yaml'),
  '--listen', 'tls://127.0.0.1:0', '--dns', '127.0.0.1:0', '--data-dir', join(dir, 'registry'), '--ttl', '30s'], 'flyme registry ready');
const registryUrl = reg.listeners[0];
const dnsPort = Number(/:(\d+)$/.exec(reg.dns)[1]);

say('the SNI router (TLS passthrough; routes follow the registry)');
const [, rt] = await start('router', ['--certs', certs, 'router', '--listen', '127.0.0.1:0', '--registry', registryUrl, '--registry-id', ID.registry], 'flyme router ready');
const router = rt.listen;

say('service A on 127.0.0.2 and service B on 127.0.0.3, each registering itself, with an egress proxy to the other');
const svc = (n, ip, proxyPort, other) => start(`service ${n}`, ['--certs', certs, 'service', '--svid', `service-${n}`, '--bind-ip', ip, '--port', '9005',
  '--sni', `service-${n}.${TD}`, '--registry', registryUrl, '--registry-id', ID.registry, '--router', router,
  '--proxy-port', String(proxyPort), '--upstream', `service-${other}.${TD}`], 'flyme service ready');
await svc('a', '127.0.0.2', 50055, 'b');
await svc('b', '127.0.0.3', 50056, 'a');

say(`DNS: service-b.${TD} A? (UDP, 127.0.0.1:${dnsPort})`);
{
  const answer = await new Promise((res) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); res(undefined); }, 2000);
    s.on('message', (m) => { clearTimeout(t); s.close(); res(dnsPacket.decode(m)); });
    s.send(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: `service-b.${TD}` }] }), dnsPort, '127.0.0.1');
  });
  const a = answer?.answers?.find((r) => r.type === 'A');
  expect(a?.data === '127.0.0.3', `service-b.${TD} → ${a?.data ?? 'no answer'} (ttl ${a?.ttl ?? '-'})`);
}

const Endpoint = serviceOf('endpoint.proto', 'endpoint.Endpoint');
const sources = { a: await certsDirSource(certs, 'service-a'), b: await certsDirSource(certs, 'service-b') };
closers.push(() => sources.a.close(), () => sources.b.close());
const endpointOf = async (n, ip) => {
  const c = await new SecureGrpcClientBuilder().withTls(sources[n], ID[n]).build(`${ip}:9005`, Endpoint);
  closers.push(() => c.close());
  return c;
};

for (const [from, fromIp, to] of [['a', '127.0.0.2', 'b'], ['b', '127.0.0.3', 'a']]) {
  say(`${from.toUpperCase()} → router → ${to.toUpperCase()}: Connect{sni: service-${to}.${TD}} on service ${from.toUpperCase()}'s endpoint (mutual TLS, SNI-routed, peer checked against the registry's owner)`);
  const r = await unary(await endpointOf(from, fromIp), 'Connect', { address: '', sni: `service-${to}.${TD}` });
  show(`verified peer ${r.peer_spiffe_id}, ${r.tls_version}, round trip ${(Number(r.rtt_micros) / 1000).toFixed(2)} ms, via router ${r.via_router} (${r.dialed})`);
  expect(r.peer_spiffe_id === ID[to] && r.via_router, `service ${from.toUpperCase()} reached ${ID[to]} through the router`);
}

for (const [from, port, to] of [['a', 50055, 'b'], ['b', 50056, 'a']]) {
  say(`a plain local gRPC client → service ${from.toUpperCase()}'s egress proxy (127.0.0.1:${port}) → router → service ${to.toUpperCase()}: Whoami`);
  const plain = new Endpoint(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  closers.push(() => plain.close());
  const r = await unary(plain, 'Whoami', {});
  show(`service ${to.toUpperCase()} (${r.server_spiffe_id}) sees the caller as ${r.spiffe_id}`);
  expect(r.spiffe_id === ID[from] && r.server_spiffe_id === ID[to], `${to.toUpperCase()} saw ${from.toUpperCase()}'s SPIFFE ID, end to end`);
}

say(`attack 1: service A registers service-b.${TD} at its own address (the study's DNS hijack)`);
{
  const asA = await RegistryClient.connect({ url: registryUrl, registryId: ID.registry, source: sources.a });
  closers.push(() => asA.close());
  const err = await asA.register({ name: `service-b.${TD}`, address: '127.0.0.2', port: 9005 }).then(() => undefined, (e) => e);
  show(err ? `${err.code}: ${err.message}` : 'registered!');
  expect(err?.code === 'FLYME_PERMISSION_DENIED', 'refused by the registry');
  const still = await asA.resolve(`service-b.${TD}`);
  expect(still.every((r) => r.address === '127.0.0.3' && r.owner === ID.b), `service-b.${TD} still → 127.0.0.3, owner ${ID.b}`);
}

say('attack 2: a gRPC client without an SVID (it trusts the CA, but has no client certificate) calls Whoami on service B through the router');
{
  const creds = grpc.credentials.createSsl(readFileSync(join(certs, 'root-ca.pem')), null, null, { checkServerIdentity: () => undefined });
  const anon = new Endpoint(router, creds, { 'grpc.ssl_target_name_override': `service-b.${TD}`, 'grpc.default_authority': `service-b.${TD}` });
  closers.push(() => anon.close());
  const outcome = await unary(anon, 'Whoami', {}).then((r) => `answered: ${JSON.stringify(r)}`, (e) => `refused: ${grpc.status[e.code]} ${e.details}`);
  show(outcome);
  expect(outcome.startsWith('refused'), 'service B refused it: no client certificate, no identity');
}

say('stopping (SIGTERM: the services deregister)');
for (const p of procs.slice().reverse()) {
  p.kill('SIGTERM');
  await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)));
}
show(`done in ${((Date.now() - started) / 1000).toFixed(1)} s${failed ? `, ${failed} step(s) FAILED` : ', every step as expected'}`);
process.exit(failed ? 1 : 0);
