// `flyme ca serve` with a remote `flyme agent`: the join token buys one agent its SVID and is refused to a
// second agent; entries reach the agent at once (created and deleted); reflection lists the services to any
// client; a certificate-less client may only attest; a restarted CA keeps its root and entries and the agent
// reconnects; a restarted agent needs no new token. Every issuance and refusal is in the CA's signed audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { isRoot, runCli, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent, startFlyme, type Proc } from '../helpers/agent.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const AGENT1 = 'spiffe://example.org/agent/host1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startCa(dir: string, port = 0): Promise<{ ca: Proc; url: string; admin: string }> {
  const admin = `unix://${join(dir, 'ca-admin.sock')}`;
  const ca = await startFlyme(['ca', 'serve', '--data-dir', join(dir, 'ca'), '--trust-domain', 'example.org', '--listen', `tls://127.0.0.1:${port}`, '--admin-socket', admin], 'flyme ca ready');
  const ready = ca.log().split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; listeners?: string[] }; } catch { return {}; } }).find((l) => l.msg === 'flyme ca ready');
  return { ca, url: ready!.listeners!.find((l) => l.startsWith('tls://'))!, admin };
}

/** Lists services through gRPC server reflection (v1), with the standard reflection proto — no FlyMe code. */
function reflect(target: string, creds: grpc.ChannelCredentials): Promise<string[]> {
  const def = loadSync(join(root, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  const c = new pkg.grpc.reflection.v1.ServerReflection(target, creds);
  return new Promise((res, rej) => {
    const call = (c as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: Array<{ name: string }> } }> }).ServerReflectionInfo();
    call.on('data', (m: { list_services_response?: { service: Array<{ name: string }> } }) => { res((m.list_services_response?.service ?? []).map((s) => s.name)); call.end(); c.close(); });
    call.on('error', (e) => { rej(e); c.close(); });
    call.write({ list_services: '' });
  });
}

function unaryNoCert(target: string, creds: grpc.ChannelCredentials, method: string): Promise<grpc.ServiceError | null> {
  const def = loadSync(join(root, 'proto/ca.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { flyme: { ca: { v1: { AgentCA: grpc.ServiceClientConstructor } } } };
  const c = new pkg.flyme.ca.v1.AgentCA(target, creds);
  return new Promise((res) => {
    (c as unknown as Record<string, (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>)[method]!({ entry_id: 'x', csr: Buffer.from([0x30, 0]) }, { deadline: Date.now() + 5000 }, (e) => { c.close(); res(e); });
  });
}

test('CA service and remote agent: join token, entries, reflection, restarts, audit', { skip: !isRoot && 'needs root (the entry selects uid 0)', timeout: 120_000 }, async () => {
  const dir = tempDir('flyme-ca-');
  let { ca, url, admin } = await startCa(dir);
  const procs: Proc[] = [];
  try {
    const tok = await runCli(['--json', 'ca', 'join-token', '--agent-id', AGENT1, '--ttl', '10m', '--ca-socket', admin]);
    assert.equal(tok.code, 0, tok.stderr);
    const token = (JSON.parse(tok.stdout) as { token: string }).token;
    const bundle = join(dir, 'ca', 'root-ca.pem');
    const agentArgs = (name: string, withToken = true) => ['--ca', url, ...(withToken ? ['--join-token', token, '--trust-bundle', bundle] : []), '--data-dir', join(dir, name)];
    let agent = await startAgent(join(dir), agentArgs('a1'));
    procs.push(agent);

    // The same token for a second agent: refused (single use), and the agent does not start.
    const second = await runCli(['agent', '--socket', `unix://${join(dir, 'a2.sock')}`, ...agentArgs('a2')]);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /join token refused: already used/);

    // An entry for this host's agent reaches it at once; deleting it takes the identity away.
    const id = await createEntry(admin, 'spiffe://example.org/svc', AGENT1, ['unix:uid:0']);
    let fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]);
    for (let i = 0; i < 20 && fetch.code !== 0; i++) { await sleep(100); fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]); }
    assert.equal(fetch.code, 0, fetch.stderr);
    assert.match(fetch.stdout, /spiffe:\/\/example\.org\/svc/);
    assert.equal((await runCli(['ca', 'entry', 'delete', id, '--ca-socket', admin])).code, 0);
    await sleep(300);
    fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]);
    assert.equal(fetch.code, 3, 'no identity once the entry is gone');

    // Reflection works for any gRPC client (here without a client certificate); AgentCA methods other than
    // AttestAgent need one.
    const target = url.slice('tls://'.length);
    const noCert = grpc.credentials.createSsl(readFileSync(bundle), null, null, { checkServerIdentity: () => undefined });
    const services = await reflect(target, noCert);
    assert.ok(services.includes('flyme.ca.v1.AgentCA') && services.includes('flyme.ca.v1.CAAdmin'), services.join(','));
    const mint = await unaryNoCert(target, noCert, 'MintX509Svid');
    assert.equal(mint?.code, grpc.status.UNAUTHENTICATED, mint?.details);
    const attest = await unaryNoCert(target, noCert, 'AttestAgent');
    assert.equal(attest?.code, grpc.status.PERMISSION_DENIED, `${attest?.details}: AttestAgent is reachable without a certificate (and refuses a missing token)`);
    assert.match(attest!.details, /join token refused/);

    // Restart the CA on the same port: same root, entries kept; the agent's sync stream comes back.
    const status = async () => JSON.parse((await runCli(['--json', 'ca', 'status', '--ca-socket', admin])).stdout) as { root_serial: string; entries: number };
    const before = await status();
    await ca.stop();
    ({ ca, url, admin } = await startCa(dir, Number(url.split(':').at(-1))));
    assert.equal((await status()).root_serial, before.root_serial, 'the root survives a restart');
    await createEntry(admin, 'spiffe://example.org/svc2', AGENT1, ['unix:uid:0']);
    fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]);
    for (let i = 0; i < 100 && !/svc2/.test(fetch.stdout); i++) { await sleep(200); fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]); }
    assert.match(fetch.stdout, /spiffe:\/\/example\.org\/svc2/, 'the agent reconnected and received the new entry');

    // Restart the agent without a token: it renews with the SVID it stored.
    await agent.stop();
    agent = await startAgent(join(dir), agentArgs('a1', false));
    procs.push(agent);
    fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]);
    for (let i = 0; i < 20 && fetch.code !== 0; i++) { await sleep(100); fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url]); }
    assert.equal(fetch.code, 0, fetch.stderr);

    // The CA's signed audit log holds the issuances and the refused token, and verifies.
    const log = readFileSync(join(dir, 'ca', 'audit.log'), 'utf8');
    assert.match(log, /"kind":"svid_issued"/);
    assert.match(log, /"kind":"svid_refused".*already used/);
    assert.match(log, /"kind":"entry_changed"/);
    const verify = await runCli(['audit-log', 'verify', join(dir, 'ca', 'audit.log')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    for (const p of procs) await p.stop();
    await ca.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
