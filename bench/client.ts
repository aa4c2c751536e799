/**
 * Bench client process: `node client.js <kind> <socketPath> <certsDir> <mode> <arg>`; prints one JSON line.
 * Kinds as bench/server.ts (grpc-bearer: grpc-js with flyme-grpc's bearer JWT attached per call, unverified).
 * Modes: seq-slices (one warm connection; each stdin line N runs N sequential round trips and answers p50/p99 µs
 * and calls/s); slices SERVERPID (one warm connection; each stdin
 * line MS runs 32 calls in flight for MS ms and answers calls/s and CPU per call of client and server); connect-full MS[,SERVERPID[,COUNT]] / connect-resumed MS[,SERVERPID[,COUNT]] (new connection + first call +
 * close, per second; resumed reuses the TLS session ticket; with how many resumed, CPU per connection);
 * connect-slices SERVERPID (the same from one warm client, a stdin line `full MS` / `resumed MS` each); idle N (open N connections, print "held", wait);
 * calls WARM,N (WARM calls with 32 in flight, then N more on a line from stdin: bench/instructions.ts --grpc);
 * load N,CONNS,SERVERPID (CONNS connections x 32 in flight: calls/s, p99, CPU per call of client and server, server RSS,
 * the server's read and write syscalls per call).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type * as GrpcJs from '@grpc/grpc-js';
import { benchFiles } from './cert-files.js';
import { join } from 'node:path';

const [kind, path, certs, mode, arg] = process.argv.slice(2) as [string, string, string, string, string];
// Each kind loads only the modules it runs (imported here, once, before any figure is taken): with every module
// of every kind, a node:net baseline process started in ~0.8 s instead of ~0.18 s, and a --smoke run starts ~90
// bench processes. `x!` below: the module of a kind, loaded when `kind` is that kind.
const of = (...ks: string[]) => ks.includes(kind);
const grpc = of('grpc', 'grpc-bearer', 'flyme-grpc') ? await import('@grpc/grpc-js') : undefined;
const service = of('grpc', 'grpc-bearer', 'flyme-grpc') ? await import('./grpc-service.js') : undefined;
const auth = of('grpc-bearer', 'flyme-grpc') ? await import('../src/auth/index.js') : undefined;
const flymeGrpc = of('flyme-grpc') ? await import('../src/grpc/index.js') : undefined;
const rpc = of('flyme-unix', 'flyme-tls') ? await import('../src/rpc/client.js') : undefined;
const identity = of('flyme-tls') ? { ...(await import('../src/identity/tls/index.js')), ...(await import('../src/identity/index.js')) } : undefined;
const PAYLOAD = 'x'.repeat(64);
const f = benchFiles(certs, 'client');
type Call = () => Promise<unknown>;
interface Conn { call: Call; close(): void; session?: Buffer | undefined; resumed?: () => boolean }

/** Baseline client: hand-written NDJSON with a pending map, writes coalesced per tick, one timer per call. */
function ndjson(socket: Socket): Call {
  const pending = new Map<number, { resolve: (v: unknown) => void; timer: NodeJS.Timeout }>();
  let id = 0;
  let buf = '';
  let out = '';
  let scheduled = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const p = pending.get(msg.id);
      if (p) { pending.delete(msg.id); clearTimeout(p.timer); p.resolve(msg.result); }
    }
  });
  return () => new Promise((resolve, reject) => {
    const i = ++id;
    pending.set(i, { resolve, timer: setTimeout(() => reject(new Error('timeout')), 30_000) });
    out += JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { message: PAYLOAD } }) + '\n';
    if (!scheduled) { scheduled = true; process.nextTick(() => { scheduled = false; socket.write(out); out = ''; }); }
  });
}

/** The bench's token issuer and the subject and roles of flyme-grpc's tokens (grpc-bearer sends the same kind). */
const benchIssuer = () => auth!.TokenIssuer.create({ key: JSON.parse(readFileSync(join(certs, 'jwt-key.json'), 'utf8')), issuer: 'bench' });
const BENCH_SUB = 'bench-client';
const BENCH_ROLES = ['bench'];

/** The grpc and grpc-bearer baselines' channel credentials: bare grpc-js mTLS (no SPIFFE ID check). */
const bareGrpcCredentials = () => grpc!.credentials.createSsl(readFileSync(f.caPath), readFileSync(f.keyPath), readFileSync(f.certPath), { checkServerIdentity: () => undefined });

let lastSession: Buffer | undefined;
// The hand-written TLS baseline builds its SecureContext once per process, as a real client would (and as FlyMe's
// dialTls does, one per identity): passing cert/key/ca to every tls.connect built a new context (OpenSSL SSL_CTX_new,
// ~1.2 ms) per connection and slowed the baseline's handshakes with work that is not a handshake.
let tlsContext: SecureContext | undefined;
/** FlyMe's client likewise builds its server authorizer once (it parses the SPIFFE ID it is given). */
let flymedAuthorizer: ReturnType<NonNullable<typeof identity>['authorizeId']> | undefined;
async function open(resume = false): Promise<Conn> {
  if (kind === 'net') {
    const s = await new Promise<Socket>((res, rej) => { const s = netConnect(path); s.once('connect', () => res(s)); s.once('error', rej); });
    return { call: ndjson(s), close: () => s.destroy() };
  }
  if (kind === 'tls') {
    const s = await new Promise<TLSSocket>((res, rej) => {
      tlsContext ??= createSecureContext({ cert: readFileSync(f.certPath), key: readFileSync(f.keyPath), ca: readFileSync(f.caPath), minVersion: 'TLSv1.3' });
      const s = tlsConnect({ path, secureContext: tlsContext, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined, ...(resume && lastSession ? { session: lastSession } : {}) });
      s.on('session', (sess: Buffer) => { lastSession = sess; });
      s.once('secureConnect', () => res(s));
      s.once('error', rej);
    });
    return { call: ndjson(s), close: () => s.end(), resumed: () => s.isSessionReused() };
  }
  if (kind === 'grpc') {
    const c = new service!.BenchClient(`unix://${path}`, bareGrpcCredentials()) as unknown as GrpcJs.Client & { Ping(r: object, cb: (e: Error | null, v?: unknown) => void): void };
    return { call: () => new Promise((res, rej) => c.Ping({ message: PAYLOAD }, (e, v) => (e ? rej(e) : res(v)))), close: () => c.close() };
  }
  if (kind === 'grpc-bearer') {
    // Bare grpc-js with mTLS plus what flyme-grpc sends on every call: `authorization: Bearer <JWT>`, a token issued
    // as flyme-grpc's is (same claims, same length), attached by hand per call; the grpc server does not verify it.
    // What the header alone costs (nghttp2 never indexes `authorization`: it crosses the wire in full every call).
    const md = new grpc!.Metadata();
    md.set('authorization', `Bearer ${await (await benchIssuer()).issue({ sub: BENCH_SUB, aud: 'bench', roles: BENCH_ROLES, ttlSeconds: 3600 })}`);
    const c = new service!.BenchClient(`unix://${path}`, bareGrpcCredentials()) as unknown as GrpcJs.Client & { Ping(r: object, m: GrpcJs.Metadata, cb: (e: Error | null, v?: unknown) => void): void };
    return { call: () => new Promise((res, rej) => c.Ping({ message: PAYLOAD }, md.clone(), (e, v) => (e ? rej(e) : res(v)))), close: () => c.close() };
  }
  if (kind === 'flyme-grpc') {
    const c = await new flymeGrpc!.SecureGrpcClientBuilder().withTls(f, 'spiffe://bench.local/flymed')
      .withJwt(await benchIssuer(), BENCH_SUB, BENCH_ROLES, { audience: 'bench', ttlSeconds: 3600 })
      .build(`unix://${path}`, service!.BenchClient) as unknown as GrpcJs.Client & { Ping(r: object, cb: (e: Error | null, v?: unknown) => void): void };
    return { call: () => new Promise((res, rej) => c.Ping({ message: PAYLOAD }, (e, v) => (e ? rej(e) : res(v)))), close: () => c.close() };
  }
  if (kind === 'flyme-tls') {
    const socket = await identity!.dialTls(`unix+tls://${path}`, {
      certPath: f.certPath, keyPath: f.keyPath, caPaths: [f.caPath], serverAuthorizer: (flymedAuthorizer ??= identity!.authorizeId('spiffe://bench.local/flymed')),
      ...(resume && lastSession ? { session: lastSession } : {}), onSession: (s) => { lastSession = s; },
    });
    const c = await rpc!.connect(`unix+tls://${path}`, { socket });
    return { call: () => c.call('ping', { message: PAYLOAD }), close: () => { void c.close(); }, resumed: () => socket.isSessionReused() };
  }
  if (kind !== 'flyme-unix') throw new Error(`bench client: unknown kind ${JSON.stringify(kind)}`);
  const c = await rpc!.connect(`unix://${path}`);
  return { call: () => c.call('ping', { message: PAYLOAD }), close: () => { void c.close(); } };
}

const out = (v: object) => { process.stdout.write(JSON.stringify(v) + '\n'); };
/**
 * CPU time (ns, user + system) of every thread of process `pid`: the sum of /proc/PID/task/TID/schedstat. Its
 * main thread alone would leave out V8's garbage-collector and compiler threads and libuv's thread pool, work
 * a server does per call too (a server that makes more garbage would look cheaper than it is). The client's
 * own figure (process.cpuUsage, getrusage) covers all its threads the same way.
 */
const processCpuNs = (pid: number) => readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
  try { return sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { return sum; } // a thread that just ended
}, 0);
/**
 * New connection + TLS handshake (full, or resuming the last session ticket) + first call + close, one after
 * the other, for MS ms (or exactly COUNT connections): connections/s, how many resumed a TLS session
 * (`resumed` of `n`: a resumed case that did not resume measures full handshakes) and, with SERVERPID, the CPU
 * time per connection of this client (process.cpuUsage) and of the server (processCpuNs), which unlike the rate
 * does not swing with other load on the CPU.
 */
async function connections(resume: boolean, ms: number, serverPid?: number, count?: number): Promise<{ rate: number; n: number; resumed: number; clientUs: number; serverUs?: number }> {
  const serverCpuNs = () => (serverPid ? processCpuNs(serverPid) : 0);
  let n = 0;
  let resumed = 0;
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuNs();
  const t0 = Date.now();
  while (count ? n < count : Date.now() - t0 < ms) {
    const c = await open(resume);
    if (c.resumed?.()) resumed++;
    await c.call();
    c.close();
    n++;
  }
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / secs, n, resumed, clientUs: (cpu.user + cpu.system) / n, ...(serverPid ? { serverUs: (serverCpuNs() - srv0) / 1000 / n } : {}) };
}
/** `warm` discarded calls, then `n` sequential round trips: p50 and p99 (µs) and calls/s. */
async function sequential(call: Call, n: number, warm: number): Promise<{ p50: number; p99: number; rate: number }> {
  for (let i = 0; i < warm; i++) await call();
  const lat = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await call();
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort();
  return { p50: lat[Math.floor(n * 0.5)]!, p99: lat[Math.floor(n * 0.99)]!, rate: n / total };
}
if (mode === 'seq-slices') {
  // seq-slices: one connection, kept warm for the life of the process; each stdin line `N` is a slice of N
  // sequential round trips (after N/10, at least 100, discarded ones: the process was idle while the other kinds
  // took their turns, and its first calls wake it up), answered with p50/p99 µs and calls/s. The runner takes
  // turns between the kinds slice by slice, so each FlyMe slice is paired with its baseline's slice seconds apart
  // (bench/run.ts's sequential rows).
  const { call } = await open();
  for await (const line of createInterface({ input: process.stdin })) {
    const n = Number(line);
    if (!Number.isInteger(n) || n < 1) throw new Error(`seq-slices: expected a count of calls, got ${JSON.stringify(line)}`);
    out(await sequential(call, n, Math.max(100, Math.floor(n / 10))));
  }
} else if (mode === 'slices') {
  // slices SERVERPID: one connection, kept warm for the life of the process; each line on stdin is a slice
  // length in ms: 32 calls in flight for that long, then one JSON line (calls/s, CPU per call of this client and
  // of the server). Between slices the process is idle, so the runner can take turns between several kinds,
  // each with its own warm client and server, slice by slice (bench/run.ts's 32-in-flight rows).
  const serverPid = Number(arg);
  const { call } = await open();
  for await (const line of createInterface({ input: process.stdin })) {
    const end = Date.now() + Number(line);
    let done = 0;
    const cpu0 = process.cpuUsage();
    const srv0 = processCpuNs(serverPid);
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 32 }, async () => { while (Date.now() < end) { await call(); done++; } }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    out({ rate: done / secs, clientUs: (cpu.user + cpu.system) / done, serverUs: (processCpuNs(serverPid) - srv0) / 1000 / done });
  }
} else if (mode === 'load') {
  // load N,CONNS,SERVERPID: CONNS connections with 32 calls in flight each, N calls counted after a warm-up.
  // Reports calls/s, p99 (µs), the CPU time per call of this client (process.cpuUsage) and of the server
  // (processCpuNs: all its threads), the server's RSS at the end with every connection open, and its read/write syscalls per call.
  const [n, conns, serverPid] = arg.split(',').map(Number) as [number, number, number];
  const cs: Conn[] = [];
  for (let i = 0; i < conns; i++) cs.push(await open());
  const serverCpuNs = () => processCpuNs(serverPid);
  // The server's read and write syscalls (/proc/PID/io syscr, syscw): how many calls one read carries, which
  // sets most of the CPU per call (the per-read cost of the event loop, the kernel and TLS is shared by them).
  const serverSyscalls = () => {
    const io = readFileSync(`/proc/${serverPid}/io`, 'utf8');
    return [Number(/syscr:\s+(\d+)/.exec(io)![1]), Number(/syscw:\s+(\d+)/.exec(io)![1])] as const;
  };
  const perWorker = Math.max(1, Math.ceil(n / (conns * 32)));
  const warm = Math.max(2, Math.ceil(perWorker / 5));
  const lat = new Float64Array(conns * 32 * perWorker);
  let li = 0;
  const run = async (measure: boolean, k: number) => Promise.all(cs.flatMap((c) => Array.from({ length: 32 }, async () => {
    for (let i = 0; i < k; i++) {
      if (!measure) { await c.call(); continue; }
      const s = process.hrtime.bigint();
      await c.call();
      lat[li++] = Number(process.hrtime.bigint() - s) / 1000;
    }
  })));
  await run(false, warm);
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuNs();
  const io0 = serverSyscalls();
  const t0 = process.hrtime.bigint();
  await run(true, perWorker);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const srv = serverCpuNs() - srv0;
  const io1 = serverSyscalls();
  const cpu = process.cpuUsage(cpu0);
  const calls = li;
  const sorted = lat.subarray(0, calls).sort();
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${serverPid}/status`, 'utf8'))![1]) * 1024;
  out({ rate: calls / secs, p99: sorted[Math.floor(calls * 0.99)], clientUs: (cpu.user + cpu.system) / calls, serverUs: srv / 1000 / calls, serverRss: rss, calls,
    serverReadsPerCall: (io1[0] - io0[0]) / calls, serverWritesPerCall: (io1[1] - io0[1]) / calls });
  for (const c of cs) c.close();
} else if (mode === 'calls') {
  // calls WARM,N: one connection, WARM calls with 32 in flight, then `{"warm":WARM}` on stdout; on a line from stdin,
  // exactly N more the same way and `{"n":N}` (bench/instructions.ts --grpc counts instructions around them).
  const [warm, n] = arg.split(',').map(Number) as [number, number];
  const { call, close } = await open();
  const run = async (k: number) => { let left = k; await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await call(); })); };
  await run(warm);
  out({ warm });
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  await lines.next();
  await run(n);
  out({ n });
  close();
} else if (mode === 'connect-full' || mode === 'connect-resumed') {
  // connect-* MS[,SERVERPID[,COUNT]]: one fresh process per figure (bench/instructions.ts counts it this way).
  // COUNT: exactly that many connections after the warm-up, however long they take.
  const resume = mode === 'connect-resumed';
  const [ms, serverPid, count] = arg.split(',').map(Number) as [number, number | undefined, number | undefined];
  for (let i = 0; i < 20; i++) { const c = await open(resume); await c.call(); c.close(); } // warm-up, gets a ticket
  out(await connections(resume, ms, serverPid, count));
} else if (mode === 'connect-slices') {
  // connect-slices SERVERPID: a long-lived client; each stdin line `full MS` or `resumed MS` runs that case for
  // MS ms and answers as connect-* does, so the runner can alternate full and resumed slices of one warm client.
  const serverPid = Number(arg);
  for await (const line of createInterface({ input: process.stdin })) {
    const [which, ms] = line.split(' ') as [string, string];
    if (which !== 'full' && which !== 'resumed') throw new Error(`connect-slices: expected "full MS" or "resumed MS", got ${JSON.stringify(line)}`);
    out(await connections(which === 'resumed', Number(ms), serverPid));
  }
} else if (mode === 'pubsub') {
  const redis = await import('./redis.js');
  out({ rate: await redis.pubsubRate(kind as import('./redis.js').PubSubKind, path, certs, Number(arg)), cpuUsPerMessage: redis.lastPubsubCpuUsPerMessage });
} else if (mode === 'idle') {
  const n = Number(arg);
  const held: Conn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await open();
    await c.call();
    held.push(c);
  }
  out({ held: held.length });
  await new Promise(() => {}); // the runner reads the server's RSS, then kills us
}
if (mode !== 'idle') process.exit(0);
