// Cross-language: a Python grpcio client (Debian python3-grpcio) with the FlyMe client certificate and a
// bearer token calls the example Greeter server: SayHello (greeter.read) succeeds, SetGreeting without
// greeter.write is PERMISSION_DENIED, and without a token the call is UNAUTHENTICATED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/daemon.js';

const PY = '/usr/bin/python3';
const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const hasGrpc = existsSync(PY) && spawnSync(PY, ['-c', 'import grpc, grpc_tools'], { stdio: 'ignore' }).status === 0;

const client = `
import sys, grpc
sys.path.insert(0, sys.argv[1])
import greeter_pb2, greeter_pb2_grpc
stubs, sock, certs, token, method = sys.argv[1:6]
read = lambda f: open(certs + '/' + f, 'rb').read()
creds = grpc.ssl_channel_credentials(read('root-ca.pem'), read('client.key.pem'), read('client.pem'))
# The server certificate carries DNS SAN localhost next to its SPIFFE ID; grpcio checks host names.
ch = grpc.secure_channel('unix:' + sock, creds, options=[('grpc.ssl_target_name_override', 'localhost')])
stub = greeter_pb2_grpc.GreeterStub(ch)
md = [('authorization', 'Bearer ' + token)] if token != '-' else []
try:
    if method == 'SayHello':
        r = stub.SayHello(greeter_pb2.HelloRequest(name='python'), metadata=md, timeout=10)
        print('OK ' + r.message)
    else:
        r = stub.SetGreeting(greeter_pb2.SetGreetingRequest(greeting='hi'), metadata=md, timeout=10)
        print('OK ' + r.greeting)
except grpc.RpcError as e:
    print(e.code().name + ' ' + e.details())
`;

test('Python grpcio client: allowed with the role, refused without it', { skip: !hasGrpc && 'needs Debian python3-grpcio and python3-grpc-tools (npm test installs them as root)' }, async () => {
  const dir = tempDir();
  const certs = join(dir, 'certs');
  const keys = join(dir, 'keys');
  assert.equal((await runCli(['certs', 'init', '--dir', certs])).code, 0);
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const gen = spawnSync(PY, ['-m', 'grpc_tools.protoc', `-I${join(root, 'proto')}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, join(root, 'proto', 'greeter.proto')], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  writeFileSync(join(dir, 'client.py'), client);
  const sock = join(dir, 'greeter.sock');
  const server = spawn(process.execPath, [join(root, 'dist/examples/greeter/server.js'), '--listen', `unix://${sock}`, '--certs', certs, '--jwks', join(keys, 'jwks.json'), '--issuer', 'flyme-ci'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  try {
    for (let i = 0; i < 200 && !log.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, /listening/);
    const token = async (roles: string) => (await runCli(['token', 'issue', '--key', join(keys, 'k1.private.jwk.json'), '--iss', 'flyme-ci', '--sub', 'py-svc', '--aud', 'greeter', '--roles', roles, '--ttl', '5m'])).stdout.trim();
    const py = (tok: string, method: string) => spawnSync(PY, [join(dir, 'client.py'), dir, sock, certs, tok, method], { encoding: 'utf8', timeout: 30_000 }).stdout.trim();
    const reader = await token('greeter.read');
    assert.equal(py(reader, 'SayHello'), 'OK Hello, python (from py-svc)');
    assert.match(py(reader, 'SetGreeting'), /^PERMISSION_DENIED .*greeter\.write/);
    assert.match(py('-', 'SayHello'), /^UNAUTHENTICATED a bearer token is required/);
    const writer = await token('greeter.read,greeter.write');
    assert.equal(py(writer, 'SetGreeting'), 'OK hi', 'control: with the role SetGreeting works');
  } finally {
    server.kill();
  }
});
