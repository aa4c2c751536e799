/**
 * Bench server process: `node server.js <kind> <socketPath> <certsDir>`; prints "ready" on stdout.
 * Kinds: net and tls (hand-written baselines), grpc and grpc-bearer (grpc-js unary, mTLS; the same server for
 * both: grpc-bearer's client adds an unverified bearer token), flyme-grpc, flyme-unix and flyme-tls
 * (RpcServer with kernel peer credentials; flyme-tls adds mTLS 1.3 + SPIFFE authorizer + policy check).
 */
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync, rmSync } from 'node:fs';
import type * as GrpcJs from '@grpc/grpc-js';
import { answerLines } from './baseline-lines.js';
import { benchFiles } from './cert-files.js';
import { join } from 'node:path';

const [kind, path, certs] = process.argv.slice(2) as [string, string, string];
rmSync(path, { force: true });
const ready = () => process.stdout.write('ready\n');
// The runner collects garbage in every server (baselines and FlyMe alike) before it reads RSS.
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());

/** Baselines (1) and (2): the simplest correct hand-written NDJSON JSON-RPC server. */
function ndjson(s: Socket): void {
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => {
    let out: string;
    [out, buf] = answerLines(buf + d);
    if (out) s.write(out);
  });
  s.on('error', () => s.destroy());
}

const f = benchFiles(certs, 'server');
if (kind === 'net') {
  createServer(ndjson).listen(path, ready);
} else if (kind === 'tls') {
  createTlsServer({ cert: readFileSync(f.certPath), key: readFileSync(f.keyPath), ca: readFileSync(f.caPath), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, ndjson).listen(path, ready);
} else if (kind === 'grpc' || kind === 'grpc-bearer') {
  // Each kind imports only the modules it runs (as bench/client.ts does).
  const grpc = await import('@grpc/grpc-js');
  const { BenchService } = await import('./grpc-service.js');
  // grpc-bearer: the same server; its client attaches a bearer token that nothing verifies (see client.ts).
  const server = new grpc.Server();
  server.addService(BenchService, { Ping: (call: GrpcJs.ServerUnaryCall<{ message: string }, unknown>, cb: GrpcJs.sendUnaryData<unknown>) => cb(null, { message: call.request.message, time: new Date().toISOString() }) });
  const creds = grpc.ServerCredentials.createSsl(readFileSync(f.caPath), [{ cert_chain: readFileSync(f.certPath), private_key: readFileSync(f.keyPath) }], true);
  server.bindAsync(`unix://${path}`, creds, (err) => { if (err) throw err; ready(); });
} else if (kind === 'flyme-grpc') {
  const { createSecureServer } = await import('../src/grpc/index.js');
  const { BenchService } = await import('./grpc-service.js');
  // flyme/grpc: mTLS with SPIFFE authorizer, bearer JWT verified per call, per-method role check.
  const s = await createSecureServer({
    identity: f, methods: { '/bench.Bench/Ping': ['bench'] },
    tokens: { jwksPath: join(certs, 'jwks.json'), issuer: 'bench', audience: 'bench' },
  });
  s.server.addService(BenchService, { Ping: (call: GrpcJs.ServerUnaryCall<{ message: string }, unknown>, cb: GrpcJs.sendUnaryData<unknown>) => cb(null, { message: call.request.message, time: new Date().toISOString() }) });
  await s.bind(`unix://${path}`);
  ready();
} else {
  if (kind !== 'flyme-unix' && kind !== 'flyme-tls') throw new Error(`bench server: unknown kind ${JSON.stringify(kind)}`);
  const { Type } = await import('@sinclair/typebox');
  const { RpcServer } = await import('../src/rpc/server.js');
  const { Policy } = await import('../src/auth/policy/index.js');
  // flyme-unix and flyme-tls: what flymed does per call (roles at accept, policy authorize, schema check).
  const policy = Policy.parse(`roles:\n  pinger: { methods: [ping] }\nbindings:\n  - { uid: ${process.getuid?.() ?? 0}, roles: [pinger] }\n  - { spiffeId: "spiffe://bench.local/client", roles: [pinger] }\n`, 'bench');
  const server = new RpcServer({ limits: { maxConnections: 10_000, maxConnectionsPerPeer: 10_000, idleTimeoutMs: 600_000 }, policy });
  server.method({
    name: 'ping',
    permission: 'ping',
    params: Type.Object({ message: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
    handler: ({ message }) => ({ message: message ?? 'pong', time: new Date().toISOString() }),
  });
  if (kind === 'flyme-tls') {
    const { TlsServerUpgrader } = await import('../src/identity/tls/index.js');
    const { authorizeMemberOf } = await import('../src/identity/index.js');
    const secure = await TlsServerUpgrader.load({ certPath: f.certPath, keyPath: f.keyPath, caPaths: [f.caPath], authorizer: authorizeMemberOf('bench.local') });
    await server.listen(`unix+tls://${path}`, { secure });
  } else {
    await server.listen(`unix://${path}`);
  }
  ready();
}
