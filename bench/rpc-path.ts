/**
 * `node dist/bench/rpc-path.js [ROUNDS]`: the server's per-call JavaScript work alone, without sockets, TLS or
 * the scheduler. The same 32-request NDJSON chunks (what one read carries in the "32 in flight" CPU rows: the
 * bench servers read all 32 requests of the client's batch at once, over unix:// and unix+tls:// alike) are fed
 * to (1) FlyMe's ServerConnection wired as RpcServer wires it (policy roles at accept, the policy's authorize
 * hook, the compiled schema check, the handler of bench/server.ts, one write per tick), once with a unix://
 * principal (peer credentials) and once with a unix+tls:// one (peer credentials + verified SPIFFE ID), and
 * (2) the hand-written baseline's 'data' handler of bench/server.ts (setEncoding('utf8'), JSON.parse per line,
 * one write per chunk). Interleaved rounds on one CPU (pin it with taskset), CPU time (process.cpuUsage) per
 * call, median after 5 discarded rounds. Prints one JSON line.
 *
 * Why: the socket-level rows (server CPU per call, /proc/PID/schedstat) swing by ±40 % on this shared machine;
 * this isolates the only part of the per-call path in which FlyMe and the baselines run different code.
 */
import { answerLines } from './baseline-lines.js';
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { Type } from '@sinclair/typebox';
import { Policy } from '../src/auth/policy/index.js';
import { emptyPrincipal } from '../src/auth/principal.js';
import { ServerConnection } from '../src/rpc/connection.js';
import { Dispatcher } from '../src/rpc/dispatcher.js';
import { resolveLimits } from '../src/rpc/limits.js';
import { compileMethod, type CompiledMethod, type MethodDefinition } from '../src/rpc/method.js';
import { parseAddress } from '../src/transport/address.js';
import type { AcceptedConnection } from '../src/transport/listener.js';

const roundsArg = Number(process.argv[2] ?? 25);
if (!Number.isInteger(roundsArg) || roundsArg < 1) {
  process.stderr.write('usage: node dist/bench/rpc-path.js [ROUNDS]  (default 25, at least 6 are run; pin it: taskset -c 1 node ...)\n');
  process.exit(2);
}
const rounds = Math.max(6, roundsArg);
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const policy = Policy.parse(`roles:\n  pinger: { methods: [ping] }\nbindings:\n  - { uid: ${uid}, roles: [pinger] }\n  - { spiffeId: "spiffe://bench.local/client", roles: [pinger] }\n`, 'bench');
const ping = {
  name: 'ping',
  permission: 'ping',
  params: Type.Object({ message: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
  handler: ({ message }: { message?: string }) => ({ message: message ?? 'pong', time: new Date().toISOString() }),
};
const methods = new Map<string, CompiledMethod>([['ping', compileMethod(ping as unknown as MethodDefinition)]]);
const limits = resolveLimits({ maxConnections: 10_000, maxConnectionsPerPeer: 10_000, idleTimeoutMs: 600_000 });
let served = 0;
const dispatcher = new Dispatcher(methods, () => (p, permission, method) => policy.authorize(p, permission, method), { served: () => { served++; } });

/** Stands in for the accepted socket: counts what is written, never pushes back. */
class SinkSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  writableEnded = false;
  allowHalfOpen = false;
  bytes = 0;
  write(data: string): boolean { this.bytes += data.length; return true; }
  pause(): this { return this; }
  resume(): this { return this; }
  end(): this { return this; }
  destroy(): this { return this; }
  setTimeout(): this { return this; }
}

function flymeConnection(tls: boolean): SinkSocket {
  const socket = new SinkSocket();
  const url = tls ? 'unix+tls:///run/bench.sock' : 'unix:///run/bench.sock';
  const conn = { socket, address: parseAddress(url), peer: { uid, gid, pid: process.pid } } as unknown as AcceptedConnection;
  const principal = emptyPrincipal(url, { uid, gid, pid: process.pid });
  if (tls) principal.cert = { spiffeId: 'spiffe://bench.local/client', serial: '01', notAfter: '2099-01-01T00:00:00.000Z', thumbprint: 'x' };
  policy.assignRoles(principal);
  new ServerConnection(1, conn, principal, limits, dispatcher, () => undefined);
  return socket;
}

/** bench/server.ts's baseline 'data' handler, over the same StringDecoder setEncoding('utf8') uses. */
function baseline(): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let written = 0;
  return (chunk) => {
    let out: string;
    [out, buf] = answerLines(buf + decoder.write(chunk));
    if (out) written += out.length;
  };
}

const PAYLOAD = 'x'.repeat(64);
let nextId = 0;
const CHUNKS = 2000;
/** Fresh ids every round (an id in flight twice would be refused). */
function chunks(): Buffer[] {
  return Array.from({ length: CHUNKS }, () => {
    let s = '';
    for (let i = 0; i < 32; i++) s += JSON.stringify({ jsonrpc: '2.0', id: ++nextId, method: 'ping', params: { message: PAYLOAD } }) + '\n';
    return Buffer.from(s);
  });
}

/** µs of CPU per call: each chunk is one 'data' event, then the tick ends (FlyMe writes its answers there). */
async function measure(deliver: (chunk: Buffer) => void): Promise<number> {
  const input = chunks();
  const t0 = process.cpuUsage();
  for (const c of input) await new Promise<void>((resolve) => { deliver(c); process.nextTick(resolve); });
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (CHUNKS * 32);
}

const unixSocket = flymeConnection(false);
const tlsSocket = flymeConnection(true);
const nd = baseline();
const samples = { baseline: [] as number[], flymeUnix: [] as number[], flymeTls: [] as number[] };
for (let r = 0; r < rounds; r++) {
  const b = await measure(nd);
  const u = await measure((c) => unixSocket.emit('data', c));
  const t = await measure((c) => tlsSocket.emit('data', c));
  if (r < 5) continue;
  samples.baseline.push(b);
  samples.flymeUnix.push(u);
  samples.flymeTls.push(t);
}
if (served !== rounds * 2 * CHUNKS * 32 || unixSocket.bytes === 0 || tlsSocket.bytes === 0) throw new Error(`rpc-path: ${served} calls served, expected ${rounds * 2 * CHUNKS * 32}`);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const b = median(samples.baseline);
const u = median(samples.flymeUnix);
const t = median(samples.flymeTls);
process.stdout.write(JSON.stringify({
  usPerCall: { baseline: round3(b), flymeUnix: round3(u), flymeTls: round3(t) },
  ratio: { flymeUnix: round3(u / b), flymeTls: round3(t / b) },
  range: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, [round3(Math.min(...v)), round3(Math.max(...v))]])),
  rounds: rounds - 5,
}) + '\n');
