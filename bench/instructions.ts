/**
 * Instructions per mTLS handshake and per gRPC call, counted by valgrind's callgrind: `npm run bench:instructions`.
 *
 * Wall time and CPU time on these shared 2-vCPU machines swing by 10-50 % from one run to the next; callgrind
 * counts the instructions a process executes, which for the same build and inputs repeats to within about 1 %
 * (the order JIT and GC work falls in moves it a little), whatever else the machine is doing. It runs the code
 * ~50 times slower and sees user space only (not the kernel's share: syscalls, pidfds, /proc), so it complements
 * `npm run bench`, it does not replace it.
 *
 * For node:tls (the hand-written baseline) and FlyMe's unix+tls, full and resumed handshakes (each with its first
 * call and the close, as the bench's connect modes):
 * - server: bench/server.ts under callgrind, counters zeroed after a warm-up client, then COUNT connections from a
 *   native client: the server's instructions (all threads) over the connections it served;
 * - client: bench/client.ts under callgrind twice, with N1 and N2 connections after the same warm-up, against a
 *   native server: (instructions(N2) - instructions(N1)) / (N2 - N1), so start-up and warm-up cancel out.
 *
 * And per gRPC call, 32 in flight on one connection (bench/client.ts `load`), for bare grpc-js mTLS, grpc-js with
 * the bearer JWT attached and not verified (grpc-bearer, the same server as grpc-js's) and flyme/grpc (mTLS + JWT +
 * roles): the server's instructions over the calls of a counted client after a warm-up client, and the client's
 * from two runs of CALLS1 and CALLS2 calls, as above. Unlike the handshake counts (within about 1 %, mostly
 * OpenSSL's C code), these move by 10 % or more between runs (2026-12-02: a server with no interceptor counted
 * above one with a pass-through interceptor): under callgrind, how many calls run before V8's background compiler
 * installs optimized code depends on how the processes share the CPUs. Read them as a hint, not a measurement.
 *
 * `npm run bench:instructions [-- --only handshakes,grpc]` (default: both). Prints the tables; writes nothing.
 * Needs valgrind (`apt-get install valgrind`). About 10 minutes per part on 2 CPUs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBenchCerts } from './certs.js';

const here = dirname(fileURLToPath(import.meta.url));
const COUNT = 200; // server side: connections counted
const N1 = 50; // client side: the two run lengths
const N2 = 250;
const READY_MS = 240_000; // node's start-up under valgrind takes about a minute on these machines
const CALLS = 3200; // gRPC, server side: calls of the counted client (after its own warm-up calls)
const CALLS1 = 640; // gRPC, client side: the two run lengths
const CALLS2 = 3200;
const onlyAt = process.argv.indexOf('--only');
const parts = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : ['handshakes', 'grpc'];
const unknown = parts.filter((x) => x !== 'handshakes' && x !== 'grpc');
if (unknown.length > 0 || parts.length === 0) {
  process.stderr.write(`bench:instructions: --only takes handshakes, grpc or both (comma-separated), not ${JSON.stringify(process.argv[onlyAt + 1] ?? '')}\n`);
  process.exit(2);
}

if (spawnSync('valgrind', ['--version']).status !== 0 || spawnSync('callgrind_control', ['--help']).error) {
  process.stderr.write('bench:instructions needs valgrind (callgrind and callgrind_control): apt-get install valgrind\n');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'flyme-bench-instructions-'));
const certs = join(work, 'certs');
mkdirSync(certs);
await makeBenchCerts(certs);

const callgrind = (out: string): string[] => ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`];

/** Total instructions of a callgrind output file. */
function instructions(file: string): number {
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no instruction total in ${file}`);
  return Number(m[1]);
}

/** Starts `cmd`, resolves once its stdout says `ready`. */
function start(cmd: string, args: string[]): Promise<ReturnType<typeof spawn>> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${args.join(' ')}: not ready within ${READY_MS} ms\n${err}`)); }, READY_MS);
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) { clearTimeout(timer); resolve(p); } });
    p.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${args.join(' ')} exited ${code} before it was ready\n${err}`)); });
  });
}

/** Runs `cmd` to its end; its last stdout line as JSON. */
function runJson<T = { n: number; resumed: number }>(cmd: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

const stop = async (p: ReturnType<typeof spawn>): Promise<void> => {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await done;
};

const serverJs = join(here, 'server.js');
const clientJs = join(here, 'client.js');
/** The client's argument for `mode` with exactly `count` connections after its 20 warm-up ones. */
const clientArg = (count: number): string => `1,0,${count}`;

function checkResumed(kind: string, mode: string, r: { n: number; resumed: number }): void {
  const want = mode === 'connect-resumed' ? r.n : 0;
  if (r.resumed !== want) throw new Error(`${kind} ${mode}: ${r.resumed} of ${r.n} connections resumed`);
}

async function serverSide(kind: string, mode: string): Promise<number> {
  const sock = join(work, `${kind}-${mode}-server.sock`);
  const out = join(work, `cg-server-${kind}-${mode}`);
  const server = await start('valgrind', [...callgrind(out), process.execPath, '--expose-gc', serverJs, kind, sock, certs]);
  try {
    checkResumed(kind, mode, await runJson(process.execPath, [clientJs, kind, sock, certs, mode, clientArg(50)]));
    if (spawnSync('callgrind_control', ['-z', String(server.pid)]).status !== 0) throw new Error('callgrind_control -z failed');
    const r = await runJson(process.execPath, [clientJs, kind, sock, certs, mode, clientArg(COUNT)]);
    checkResumed(kind, mode, r);
    if (spawnSync('callgrind_control', ['-d', String(server.pid)]).status !== 0) throw new Error('callgrind_control -d failed');
    return instructions(`${out}.1`) / (r.n + 20);
  } finally {
    await stop(server);
  }
}

async function clientSide(kind: string, mode: string): Promise<number> {
  const sock = join(work, `${kind}-${mode}-client.sock`);
  const server = await start(process.execPath, [serverJs, kind, sock, certs]);
  try {
    const total = async (count: number): Promise<number> => {
      const out = join(work, `cg-client-${kind}-${mode}-${count}`);
      checkResumed(kind, mode, await runJson('valgrind', [...callgrind(out), process.execPath, clientJs, kind, sock, certs, mode, clientArg(count)]));
      return instructions(out);
    };
    return ((await total(N2)) - (await total(N1))) / (N2 - N1);
  } finally {
    await stop(server);
  }
}

/** bench/client.ts `load` with `calls` calls (one connection × 32 in flight) against server `pid`: how many calls it made in all. */
async function load(cmd: string, args: string[], kind: string, sock: string, calls: number, pid: number): Promise<number> {
  const r = await runJson<{ calls: number; warmCalls: number }>(cmd, [...args, clientJs, kind, sock, certs, 'load', `${calls},1,${pid}`]);
  return r.calls + r.warmCalls;
}

async function grpcServerSide(kind: string): Promise<number> {
  const sock = join(work, `${kind}-grpc-server.sock`);
  const out = join(work, `cg-server-${kind}-grpc`);
  const server = await start('valgrind', [...callgrind(out), process.execPath, '--expose-gc', serverJs, kind, sock, certs]);
  try {
    await load(process.execPath, [], kind, sock, CALLS / 4, server.pid!);
    if (spawnSync('callgrind_control', ['-z', String(server.pid)]).status !== 0) throw new Error('callgrind_control -z failed');
    const n = await load(process.execPath, [], kind, sock, CALLS, server.pid!);
    if (spawnSync('callgrind_control', ['-d', String(server.pid)]).status !== 0) throw new Error('callgrind_control -d failed');
    return instructions(`${out}.1`) / n;
  } finally {
    await stop(server);
  }
}

async function grpcClientSide(kind: string): Promise<number> {
  const sock = join(work, `${kind}-grpc-client.sock`);
  const server = await start(process.execPath, [serverJs, kind, sock, certs]);
  try {
    const total = async (calls: number): Promise<[number, number]> => {
      const out = join(work, `cg-client-${kind}-grpc-${calls}`);
      const n = await load('valgrind', [...callgrind(out), process.execPath], kind, sock, calls, server.pid!);
      return [instructions(out), n];
    };
    const [i2, n2] = await total(CALLS2);
    const [i1, n1] = await total(CALLS1);
    return (i2 - i1) / (n2 - n1);
  } finally {
    await stop(server);
  }
}

const rows: string[] = [];
const grpcRows: string[] = [];
const m = (x: number): string => `${(x / 1e6).toFixed(2)} M`;
const k = (x: number): string => `${(x / 1e3).toFixed(0)} k`;
try {
  for (const [label, mode] of parts.includes('handshakes') ? [['full', 'connect-full'], ['resumed', 'connect-resumed']] as const : []) {
    for (const [side, measure] of [['server', serverSide], ['client', clientSide]] as const) {
      process.stderr.write(`bench:instructions: ${label} handshakes, ${side} side...\n`);
      // Both at once (one per CPU): instruction counts do not depend on how fast each runs.
      const [base, flyme] = await Promise.all([measure('tls', mode), measure('flyme-tls', mode)]);
      rows.push(`| ${label} mTLS handshake + first call, ${side} | ${m(base)} | ${m(flyme)} | ${(flyme / base).toFixed(3)} |`);
    }
  }
  if (parts.includes('grpc')) {
    const per: Record<string, number> = {};
    for (const [side, measure] of [['server', grpcServerSide], ['client', grpcClientSide]] as const) {
      process.stderr.write(`bench:instructions: gRPC calls, ${side} side...\n`);
      const [bare, bearer, flyme] = await Promise.all(['grpc', 'grpc-bearer', 'flyme-grpc'].map((kind) => measure(kind)));
      Object.assign(per, { [`${side}.bare`]: bare!, [`${side}.bearer`]: bearer!, [`${side}.flyme`]: flyme! });
      process.stderr.write(`bench:instructions: per call, ${side}: grpc-js ${k(bare!)}, + bearer header ${k(bearer!)}, flyme/grpc ${k(flyme!)}\n`);
      grpcRows.push(`| gRPC unary call, 32 in flight, ${side} | ${k(bare!)} | ${k(bearer!)} (${(bearer! / bare!).toFixed(3)}) | ${k(flyme!)} (${(flyme! / bare!).toFixed(3)}) |`);
    }
    const both = (x: string) => per[`server.${x}`]! + per[`client.${x}`]!;
    grpcRows.push(`| gRPC unary call, 32 in flight, server + client | ${k(both('bare'))} | ${k(both('bearer'))} (${(both('bearer') / both('bare')).toFixed(3)}) | ${k(both('flyme'))} (${(both('flyme') / both('bare')).toFixed(3)}) |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write([
  ...(rows.length ? [
    `# Instructions per connection (callgrind, Node ${process.version}; user space only)`,
    '',
    '| case | node:tls | FlyMe unix+tls | FlyMe / node:tls |',
    '|---|---|---|---|',
    ...rows,
    '',
  ] : []),
  ...(grpcRows.length ? [
    `# Instructions per gRPC call (callgrind, Node ${process.version}; user space only; in brackets: over bare grpc-js)`,
    '',
    '| case | grpc-js mTLS | grpc-js + bearer header (unverified) | flyme/grpc (mTLS + JWT + roles) |',
    '|---|---|---|---|',
    ...grpcRows,
    '',
  ] : []),
].join('\n'));
