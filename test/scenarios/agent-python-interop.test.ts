// Cross-language: a Python grpcio client (Debian python3-grpcio, stubs generated at test time from
// proto/workload.proto) speaks the SPIFFE Workload API to `flyme agent --ca local`. With an entry for its uid
// it gets an X.509-SVID (DER chain, PKCS#8 key, bundle) and a JWT-SVID that ValidateJWTSVID accepts for its
// audience; the wrong audience, a missing security header and an empty audience are INVALID_ARGUMENT. Once
// the entry is deleted, fetching is PERMISSION_DENIED while validating a JWT-SVID (which needs no entry) works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent, type Agent } from '../helpers/agent.js';

const PY = '/usr/bin/python3';
const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const PROTO_DIR = join(root, 'proto');
const CLIENT = join(root, 'test/fixtures/spiffe/workload_client.py');
const ID = 'spiffe://example.org/py';
const PARENT = 'spiffe://example.org/agent/local';
const hasGrpc = existsSync(PY) && spawnSync(PY, ['-c', 'import grpc, grpc_tools'], { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;
const skip = !hasGrpc ? 'needs Debian python3-grpcio and python3-grpc-tools (npm test installs them as root)'
  : !isRoot ? 'the entry selects unix:uid:0: run as root' : false;

/** The Python stubs for proto/workload.proto, generated into `dir` (grpc_tools bundles struct.proto). */
function generateStubs(dir: string): void {
  const gen = spawnSync(PY, ['-m', 'grpc_tools.protoc', `-I${PROTO_DIR}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, join(PROTO_DIR, 'workload.proto')],
    { encoding: 'utf8', timeout: 30_000 });
  assert.equal(gen.status, 0, `protoc failed: ${gen.stderr}`);
}

/** Runs the Python client (whole child bounded at 30 s; every gRPC call inside has a 10 s deadline). */
function python(agent: Agent, ...args: string[]): Promise<Record<string, any>> {
  return new Promise((res, rej) => {
    const p = spawn(PY, [CLIENT, agent.dir, agent.sock, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONPATH: agent.dir, PYTHONDONTWRITEBYTECODE: '1' } });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      if (code !== 0) { rej(new Error(`python client exited with ${code ?? signal}:\n${err}\nagent log:\n${agent.log()}`)); return; }
      try { res(JSON.parse(out)); } catch { rej(new Error(`python client printed no JSON:\n${out}\n${err}`)); }
    });
  });
}

const createPyEntry = (agent: Agent) => createEntry(agent.caSocket, ID, PARENT, ['unix:uid:0']);

const audiences = (aud: unknown) => (Array.isArray(aud) ? aud : [aud]);

test('Python grpcio Workload API client: X.509- and JWT-SVIDs for its entry; bad requests are INVALID_ARGUMENT', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-py-');
  let agent: Agent | undefined;
  try {
    agent = await startAgent(dir);
    assert.equal(agent.stdout().trim(), `SPIFFE_ENDPOINT_SOCKET=unix://${agent.sock}`);
    await createPyEntry(agent);
    generateStubs(dir);
    const r = await python(agent, 'all');

    // (3) FetchX509SVID with the header: one SVID for the entry, DER chain + PKCS#8 key + bundle.
    assert.equal(r.x509.code, 'OK', JSON.stringify(r.x509));
    assert.equal(r.x509.svids.length, 1);
    const svid = r.x509.svids[0];
    assert.equal(svid.spiffe_id, ID);
    assert.equal(svid.svid_first_byte, 0x30, 'x509_svid is DER');
    assert.ok(svid.chain_len >= 1);
    assert.equal(svid.key_first_byte, 0x30, 'x509_svid_key is DER');
    assert.equal(svid.key_pkcs8_version, 0, 'x509_svid_key is a PKCS#8 PrivateKeyInfo');
    assert.ok(svid.bundle_len > 0, 'the bundle is not empty');
    assert.equal(svid.bundle_first_byte, 0x30);
    assert.ok(svid.bundle_certs >= 1);
    if (r.has_cryptography) {
      assert.deepEqual(svid.leaf_uris, [ID], 'the leaf carries exactly the SPIFFE ID as URI SAN');
      assert.equal(svid.leaf_is_ca, false);
      assert.equal(svid.chain_verified, true, 'leaf chains to a root of the bundle');
      assert.equal(svid.key_matches_leaf, true, 'the key is the leaf\'s');
    }

    // (4) FetchJWTSVID for svc-b: one JWT-SVID for the entry.
    assert.equal(r.jwt.code, 'OK', JSON.stringify(r.jwt));
    assert.equal(r.jwt.svids.length, 1);
    assert.equal(r.jwt.svids[0].spiffe_id, ID);
    assert.match(r.jwt.svids[0].svid, /^[\w-]+\.[\w-]+\.[\w-]+$/);

    // (5) ValidateJWTSVID for svc-b: the SPIFFE ID and the claims.
    assert.equal(r.validate.code, 'OK', JSON.stringify(r.validate));
    assert.equal(r.validate.spiffe_id, ID);
    assert.equal(r.validate.claims.sub, ID);
    assert.ok(audiences(r.validate.claims.aud).includes('svc-b'), JSON.stringify(r.validate.claims));
    assert.equal(typeof r.validate.claims.exp, 'number');

    // (6)-(8) refusals; (3)-(5) above are their controls.
    assert.equal(r.validate_other_audience.code, 'INVALID_ARGUMENT', JSON.stringify(r.validate_other_audience));
    assert.equal(r.x509_no_header.code, 'INVALID_ARGUMENT', JSON.stringify(r.x509_no_header));
    assert.match(r.x509_no_header.details, /security header/);
    assert.equal(r.jwt_empty_audience.code, 'INVALID_ARGUMENT', JSON.stringify(r.jwt_empty_audience));
  } finally {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Python grpcio Workload API client: after its entry is deleted fetching is PERMISSION_DENIED, validating still works', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-py-');
  let agent: Agent | undefined;
  try {
    agent = await startAgent(dir);
    const id = await createPyEntry(agent);
    generateStubs(dir);

    // Control: with the entry, both fetches work.
    const before = await python(agent, 'all');
    assert.equal(before.x509.code, 'OK', JSON.stringify(before.x509));
    assert.equal(before.x509.svids[0].spiffe_id, ID);
    assert.equal(before.jwt.code, 'OK', JSON.stringify(before.jwt));
    const token: string = before.jwt.svids[0].svid;

    const list = await runCli(['--json', 'ca', 'entry', 'list', '--ca-socket', agent.caSocket]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as Array<{ id: string; spiffe_id: string }>).map((e) => [e.id, e.spiffe_id]), [[id, ID]]);
    const del = await runCli(['ca', 'entry', 'delete', id, '--ca-socket', agent.caSocket]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, new RegExp(`^deleted ${id}\\s`));

    const after = await python(agent, 'after-delete', token);
    assert.equal(after.x509.code, 'PERMISSION_DENIED', JSON.stringify(after.x509));
    assert.equal(after.jwt.code, 'PERMISSION_DENIED', JSON.stringify(after.jwt));
    // ValidateJWTSVID needs no entry: the token minted before the deletion still validates.
    assert.equal(after.validate.code, 'OK', JSON.stringify(after.validate));
    assert.equal(after.validate.spiffe_id, ID);
  } finally {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
