/**
 * Instructions per mTLS handshake, counted by valgrind's callgrind: `npm run bench:instructions`.
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
 * Prints one table; writes nothing. Needs valgrind (`apt-get install valgrind`). About 10 minutes on 2 CPUs.
 *
 * `-- --grpc` counts gRPC calls instead: grpc-js (mTLS), grpc-js with the bearer header flyme/grpc sends
 * (grpc-bearer, unverified) and flyme/grpc (mTLS + JWT + roles), 32 calls in flight on one connection, each side
 * under callgrind in turn against a native peer (bench/client.ts `calls` mode): counters zeroed after GRPC_WARM
 * calls, dumped after GRPC_COUNT more, divided by GRPC_COUNT. About 7 minutes on 2 CPUs; repeats within a few per
 * cent (JavaScript's share moves with when V8 compiles and collects), not the handshakes' 1 %.
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
const GRPC_WARM = 4000; // --grpc: calls before the counters are zeroed (the JIT settles)
const GRPC_COUNT = 10_000; // --grpc: calls counted
const READY_MS = 240_000; // node's start-up under valgrind takes about a minute on these machines
const GRPC_MS = 900_000; // --grpc: most time for the warm-up calls, and again for the counted ones, under valgrind

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

type Started = ReturnType<typeof spawn> & {
  /** Resolves once stdout (all of it so far) includes `marker`; rejects if the process exits first or `ms` pass (then kills it). */
  until(marker: string, ms: number): Promise<void>;
};

/** Starts `cmd`, resolves once its stdout includes `marker` (default `ready`); `stdin`: a pipe to write to. */
function start(cmd: string, args: string[], o: { marker?: string; ms?: number; stdin?: boolean } = {}): Promise<Started> {
  const p = spawn(cmd, args, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: string | undefined;
  const waiting = new Set<{ marker: string; settle(e?: Error): void }>();
  const check = (): void => {
    for (const w of waiting) {
      if (out.includes(w.marker)) w.settle();
      else if (exit !== undefined) w.settle(new Error(`${args.join(' ')} ${exit} before it printed ${w.marker}\n${err}`));
    }
  };
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); check(); });
  p.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  p.on('error', (e) => { exit = `failed to start (${e.message})`; check(); });
  p.on('exit', (code, signal) => { exit = `exited ${code ?? signal}`; check(); });
  const until = (marker: string, ms: number): Promise<void> => new Promise((resolve, reject) => {
    const w = {
      marker,
      settle: (e?: Error) => { waiting.delete(w); clearTimeout(timer); if (e) reject(e); else resolve(); },
    };
    const timer = setTimeout(() => { p.kill('SIGKILL'); w.settle(new Error(`${args.join(' ')}: no ${marker} within ${ms} ms\n${err}`)); }, ms);
    waiting.add(w);
    check();
  });
  return until(o.marker ?? 'ready', o.ms ?? READY_MS).then(() => Object.assign(p, { until }));
}

/** Runs `cmd` to its end; its last stdout line as JSON. */
function runJson(cmd: string, args: string[]): Promise<{ n: number; resumed: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as { n: number; resumed: number });
    });
  });
}

const stop = async (p: ReturnType<typeof spawn>): Promise<void> => {
  if (p.exitCode !== null || p.signalCode !== null) return;
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

/**
 * A bench client in `calls` mode, started: resolves once it has made its warm-up calls; `go()` has it make the
 * counted ones and resolves when it has (before it exits), and rejects if it dies or takes over GRPC_MS.
 */
async function callsClient(cmd: string, args: string[]): Promise<{ go(): Promise<void>; pid: number; exited: Promise<void>; process: Started }> {
  const p = await start(cmd, args, { marker: '"warm"', ms: GRPC_MS, stdin: true });
  const exited = new Promise<void>((resolve, reject) => {
    const done = (): void => { if (p.exitCode === 0) resolve(); else reject(new Error(`${args.join(' ')} exited ${p.exitCode ?? p.signalCode}`)); };
    if (p.exitCode !== null || p.signalCode !== null) done();
    else p.once('exit', done);
  });
  exited.catch(() => undefined); // go() reports a death during the counted calls; the caller awaits this after it
  return { pid: p.pid!, process: p, exited, go: () => { p.stdin!.write('go\n'); return p.until('"n"', GRPC_MS); } };
}

/** Instructions per gRPC call of `kind`'s server (side 'server') or client (side 'client'), the other side native. */
async function grpcCalls(kind: string, side: 'server' | 'client'): Promise<number> {
  const sock = join(work, `${kind}-calls-${side}.sock`);
  const out = join(work, `cg-${side}-${kind}-calls`);
  const serverArgs = [serverJs, kind === 'grpc-bearer' ? 'grpc' : kind, sock, certs];
  const clientArgs = [clientJs, kind, sock, certs, 'calls', `${GRPC_WARM},${GRPC_COUNT}`];
  const server = side === 'server' ? await start('valgrind', [...callgrind(out), process.execPath, ...serverArgs]) : await start(process.execPath, serverArgs);
  let client: Awaited<ReturnType<typeof callsClient>> | undefined;
  try {
    client = side === 'client' ? await callsClient('valgrind', [...callgrind(out), process.execPath, ...clientArgs]) : await callsClient(process.execPath, clientArgs);
    const counted = side === 'server' ? server.pid! : client.pid;
    if (spawnSync('callgrind_control', ['-z', String(counted)]).status !== 0) throw new Error('callgrind_control -z failed');
    await client.go();
    if (spawnSync('callgrind_control', ['-d', String(counted)]).status !== 0) throw new Error('callgrind_control -d failed');
    await client.exited;
    return instructions(`${out}.1`) / GRPC_COUNT;
  } finally {
    if (client) await stop(client.process);
    await stop(server);
  }
}

/** Like Promise.all, but waits for every measurement (each stops its own processes) before it rejects with the first failure. */
async function settled(runs: Promise<number>[]): Promise<number[]> {
  const r = await Promise.allSettled(runs);
  const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  return r.map((x) => (x as PromiseFulfilledResult<number>).value);
}

const rows: string[] = [];
const m = (x: number): string => `${(x / 1e6).toFixed(2)} M`;
const k = (x: number): string => `${(x / 1e3).toFixed(1)} k`;
if (process.argv.includes('--grpc')) {
  try {
    for (const side of ['server', 'client'] as const) {
      process.stderr.write(`bench:instructions --grpc: ${side} side...\n`);
      // All three at once (one valgrind per kind; the counts hardly depend on how fast each runs).
      const [bare, bearer, flyme] = await settled(['grpc', 'grpc-bearer', 'flyme-grpc'].map((kind) => grpcCalls(kind, side)));
      rows.push(`| unary call, 32 in flight, ${side} | ${k(bare!)} | ${k(bearer!)} (${(bearer! / bare!).toFixed(3)}) | ${k(flyme!)} (${(flyme! / bare!).toFixed(3)}) | ${(flyme! / bearer!).toFixed(3)} |`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write([
    `# Instructions per gRPC call (callgrind, Node ${process.version}; user space only; ${GRPC_COUNT} calls after ${GRPC_WARM})`,
    '',
    '| case | grpc-js mTLS | + bearer header (/ grpc-js) | flyme/grpc mTLS + JWT + roles (/ grpc-js) | flyme/grpc / + bearer |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'));
  process.exit(0);
}
try {
  for (const [label, mode] of [['full', 'connect-full'], ['resumed', 'connect-resumed']] as const) {
    for (const [side, measure] of [['server', serverSide], ['client', clientSide]] as const) {
      process.stderr.write(`bench:instructions: ${label} handshakes, ${side} side...\n`);
      // Both at once (one per CPU): instruction counts do not depend on how fast each runs.
      const [base, flyme] = await settled([measure('tls', mode), measure('flyme-tls', mode)]);
      rows.push(`| ${label} mTLS handshake + first call, ${side} | ${m(base)} | ${m(flyme)} | ${(flyme / base).toFixed(3)} |`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write([
  `# Instructions per connection (callgrind, Node ${process.version}; user space only)`,
  '',
  '| case | node:tls | FlyMe unix+tls | FlyMe / node:tls |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n'));
