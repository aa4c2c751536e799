// Cross-language: a Python grpcio client (Debian python3-grpcio, stubs generated from proto/endpoint.proto at
// test time) calls endpoint.Endpoint/Connect on service A over mutual TLS with A's SVID and gets B's SPIFFE ID
// and TLSv1.3, the same answer as the Node client; with another workload's SVID it is PERMISSION_DENIED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, startRegistry } from '../helpers/mesh.js';
import { startService } from '../helpers/mesh-service.js';

const PY = '/usr/bin/python3';
const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const hasGrpc = existsSync(PY) && spawnSync(PY, ['-c', 'import grpc, grpc_tools'], { stdio: 'ignore' }).status === 0;
const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

const client = `
import sys, json, grpc
sys.path.insert(0, sys.argv[1])
import endpoint_pb2, endpoint_pb2_grpc
stubs, target, certs, name, address, sni = sys.argv[1:7]
read = lambda f: open(certs + '/' + f, 'rb').read()
creds = grpc.ssl_channel_credentials(read('root-ca.pem'), read(name + '.key.pem'), read(name + '.pem'))
# grpcio checks a DNS name: service A's SVID carries its SNI as a DNS SAN next to its SPIFFE ID.
ch = grpc.secure_channel(target, creds, options=[('grpc.ssl_target_name_override', 'service-a.example.org')])
stub = endpoint_pb2_grpc.EndpointStub(ch)
try:
    r = stub.Connect(endpoint_pb2.ConnectRequest(address=address, sni=sni), timeout=15)
    print(json.dumps({'peer': r.peer_spiffe_id, 'tls': r.tls_version, 'rtt': r.rtt_micros, 'via_router': r.via_router}))
except grpc.RpcError as e:
    print(e.code().name + ' ' + e.details())
`;

test('service: a Python grpcio client calls endpoint.Endpoint/Connect over mTLS', { skip: !hasGrpc && 'needs Debian python3-grpcio and python3-grpc-tools (npm test installs them as root)', timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-py-');
  const certs = await meshCerts(dir, { b: B, other: 'spiffe://example.org/svc/service-c' });
  const i = await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', A, '--dns', 'service-a.example.org', '--out', join(certs, 'a')]);
  assert.equal(i.code, 0, i.stderr);
  const gen = spawnSync(PY, ['-m', 'grpc_tools.protoc', `-I${join(root, 'proto')}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, join(root, 'proto', 'endpoint.proto')], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  writeFileSync(join(dir, 'client.py'), client);
  const reg = await startRegistry(dir, [], false);
  const stops: Array<() => Promise<void>> = [() => reg.proc.stop()];
  try {
    const b = await startService(certs, 'b', 'service-b.example.org', reg);
    stops.unshift(() => b.proc.stop());
    const a = await startService(certs, 'a', 'service-a.example.org', reg);
    stops.unshift(() => a.proc.stop());
    const py = (name: string) => spawnSync(PY, [join(dir, 'client.py'), dir, a.target, certs, name, b.target, 'service-b.example.org'], { encoding: 'utf8', timeout: 60_000 });
    const ok = py('a');
    assert.equal(ok.status, 0, ok.stderr);
    const reply = JSON.parse(ok.stdout) as { peer: string; tls: string; rtt: number; via_router: boolean };
    assert.equal(reply.peer, B);
    assert.equal(reply.tls, 'TLSv1.3');
    assert.ok(reply.rtt > 0);
    assert.equal(reply.via_router, false);
    // control of the refusal path: another workload's SVID reaches the service but may not Connect
    assert.match(py('other').stdout.trim(), /^PERMISSION_DENIED FLYME_PERMISSION_DENIED: spiffe:\/\/example\.org\/svc\/service-c may not call Connect/);
  } finally {
    for (const s of stops) await s();
    rmSync(dir, { recursive: true, force: true });
  }
});
