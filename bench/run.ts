/**
 * `npm run bench [-- --quick|--smoke] [--cpu] [--only CASES] [--json]`: FlyMe side by side with hand-written baselines
 * (node:net, node:tls mTLS 1.3) and grpc-js, interleaved (A B A B ...), processes pinned with taskset
 * (server CPU 0; sequential clients CPU 0; concurrent clients CPU 1), medians after a discarded warm-up.
 * Writes bench/results/latest.{json,md} and the generated parts of docs/performance.md and README.md (full run);
 * `--quick` writes bench/results/quick.*; `--only cpu,rpc,handshakes,rss,cli,redis,redis-cluster,micro` runs some cases
 * and `--cpu` is `--only cpu` (CPU per call, one-CPU throughput, connections curve): printed, not written.
 * `--smoke` (about a minute, tiny sizes) only proves every case runs and every figure is plausible.
 * `--before REV` also runs FlyMe as of git revision REV (built with today's bench files, see before.ts) beside
 * today's FlyMe in the same run, interleaved, and adds a before/after table (a full run writes it into
 * docs/performance.md too).
 * Exits 3 when a figure cannot be right (see report.ts invalidReason).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBenchCerts } from './certs.js';
import { haveRedis, startBenchRedis } from './redis.js';
import { beforeAfterRows, beforeMarkdown, buildRows, toMarkdown, type Samples } from './report.js';
import { writeGeneratedDocs } from './docs.js';
import { BEFORE, bareKind, beforeSamples, buildBefore, isBefore, isFlymeKind } from './before.js';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { converse, haveTaskset, pin, run } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));
const smoke = process.argv.includes('--smoke');
const quick = smoke || process.argv.includes('--quick');
const jsonOnly = process.argv.includes('--json');
const onlyAt = process.argv.indexOf('--only');
const only = process.argv.includes('--cpu') ? ['cpu'] : onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : undefined;
const want = (name: string) => !only || only.includes(name);
// A run that writes results (a full or --quick run of every case) must not lose the Redis rows (one a target) to
// a machine without redis-server: on 2026-12-02 two full runs on a fresh machine reported 17 of 18 targets,
// the Redis row silently left out. --smoke and --only runs go on without them, saying so.
if (!haveRedis && (want('redis') || want('redis-cluster'))) {
  const how = 'redis-server is not installed (apt-get install redis-server)';
  if (!smoke && !only) {
    process.stderr.write(`bench: ${how}, and a run that writes results needs it for the Redis rows; or run the other cases with --only cpu,rpc,handshakes,rss,cli,micro\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: Redis rows skipped: ${how}\n`);
}
const beforeAt = process.argv.indexOf('--before');
if (beforeAt > 0 && !process.argv[beforeAt + 1]) throw new Error('--before needs a git revision (a commit, tag or branch)');
const before = beforeAt > 0 ? buildBefore(join(here, '../..'), process.argv[beforeAt + 1]!) : undefined;
if (before?.typeErrors.length) {
  process.stderr.write(`bench: today's bench files against ${before.rev} (emitted anyway; an option the old code lacks is ignored by it):\n  ${before.typeErrors.join('\n  ')}\n`);
}
/** Every FlyMe kind twice with --before: today's build and the old one (`before:KIND`), interleaved. */
const withBefore = (ks: string[]) => (before ? ks.flatMap((k) => (isFlymeKind(k) ? [k, BEFORE + k] : [k])) : ks);
/**
 * The rows a target is judged on: CPU per call and one-CPU throughput run C.cpuSlices slices of C.cpuSliceMs in
 * C.cpuBlocks blocks of fresh processes (each kind's server with two long-lived clients, one on its own CPU, one on
 * the server's CPU; until 2026-12-02 C.repeatsJudged = 11 rounds of a fresh server and client each, see the cpu
 * section); the 32-in-flight RPC rows and the handshakes run C.slices slices of
 * C.sliceMs from warm, long-lived clients taking turns (after a discarded C.warmSliceMs slice; the 32-in-flight
 * rows: C.inflightSlices slices, after C.warmRounds discarded rounds more); the sequential RPC rows C.seqSlices
 * slices of C.seq calls (C.seqGrpc for grpc kinds) the same way, after a discarded slice of C.seqWarm; both RPC
 * parts in C.pairBlocks blocks, each on freshly started processes (inBlocks); the 8-connection rows, the connections
 * curve and Redis run C.repeats (5) rounds. Baselines and FlyMe run the same rounds, interleaved; more rounds narrow
 * the median, they do not move it.
 */
const C = smoke
  ? { repeats: 1, cpuSlices: 1, cpuBlocks: 1, cpuSliceMs: 150, cpuWarmMs: 150, cpuWarmRounds: 0, slices: 1, inflightSlices: 1, seqSlices: 1, pairBlocks: 1, handshakeBlocks: 1, warmRounds: 0, sliceMs: 150, warmSliceMs: 150, seq: 300, seqGrpc: 100, seqWarm: 300, idle: 150, idleUnix: 4000, cli: 1, microMs: 20, pubsub: 200, load: 2000, curve: [1, 8], alternateStartOrder: true }
  : quick
    ? { repeats: 1, cpuSlices: 4, cpuBlocks: 2, cpuSliceMs: 300, cpuWarmMs: 1000, cpuWarmRounds: 0, slices: 3, inflightSlices: 3, seqSlices: 5, pairBlocks: 2, handshakeBlocks: 1, warmRounds: 0, sliceMs: 350, warmSliceMs: 2500, seq: 2000, seqGrpc: 400, seqWarm: 5000, idle: 150, idleUnix: 4000, cli: 3, microMs: 60, pubsub: 1000, load: 20000, curve: [1, 8, 64, 512], alternateStartOrder: true }
    : { repeats: 5, cpuSlices: 40, cpuBlocks: 10, cpuSliceMs: 500, cpuWarmMs: 1000, cpuWarmRounds: 1, slices: 21, inflightSlices: 60, seqSlices: 42, pairBlocks: 6, handshakeBlocks: 3, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000, seq: 3000, seqGrpc: 600, seqWarm: 15000, idle: 1000, idleUnix: 4000, cli: 15, microMs: 500, pubsub: 10000, load: 60000, curve: [1, 8, 64, 512], alternateStartOrder: true };
const certs = mkdtempSync(join(tmpdir(), 'flyme-bench-certs-'));
await makeBenchCerts(certs);

/** dist/bench of the build that runs `kind`: today's, or the old revision's for `before:` kinds. */
const dirOf = (kind: string) => (isBefore(kind) ? before!.benchDir : here);
const client = async (cpu: number, kind: string, path: string, mode: string, arg: number | string) => JSON.parse((await run(pin(cpu, [join(dirOf(kind), 'client.js'), bareKind(kind), path, certs, mode, String(arg)]))).out);

/** A bench server of `kind` on CPU 0, on a socket in a new temporary directory; `stop` kills it and removes both. */
async function startServer(kind: string, nodeFlags: string[] = []): Promise<{ path: string; pid: number; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-bench-'));
  const path = join(dir, 's.sock');
  try {
    const { proc } = await run(pin(0, [...nodeFlags, '--expose-gc', join(dirOf(kind), 'server.js'), bareKind(kind), path, certs]), 'ready');
    return { path, pid: proc.pid!, stop: () => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); } };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
async function withServer<T>(kind: string, fn: (path: string, pid: number) => Promise<T>, nodeFlags: string[] = []): Promise<T> {
  const srv = await startServer(kind, nodeFlags);
  try {
    return await fn(srv.path, srv.pid);
  } finally {
    srv.stop();
  }
}
/** A server of its kind and long-lived clients (bench/client.ts `mode`, one pinned to each of `clientCpus`) talking to it; `cl` is the first. */
interface WarmPair { kind: string; srv: Awaited<ReturnType<typeof startServer>>; cl: ReturnType<typeof converse>; cls: Array<ReturnType<typeof converse>> }
/** One WarmPair per kind for `fn`; every process is stopped afterwards, whatever `fn` did. */
async function withWarmPairs(ks: string[], clientCpus: number[], mode: string, fn: (up: WarmPair[]) => Promise<void>): Promise<void> {
  const up: WarmPair[] = [];
  try {
    for (const kind of ks) {
      const srv = await startServer(kind);
      const cls = clientCpus.map((cpu) => converse(pin(cpu, [join(dirOf(kind), 'client.js'), bareKind(kind), srv.path, certs, mode, String(srv.pid)])));
      up.push({ kind, srv, cl: cls[0]!, cls });
    }
    await fn(up);
  } finally {
    for (const u of up) { for (const c of u.cls) c.proc.kill('SIGKILL'); u.srv.stop(); }
  }
}
/** How inBlocks divides a pass: `rounds` measured rounds in `blocks` blocks, each after `warmRounds` discarded ones. */
interface Blocks { rounds: number; blocks: number; warmRounds: number }
/**
 * `rounds` measured rounds of every kind in turn, taken in `blocks` blocks: each block starts a WarmPair per
 * kind afresh, runs `warm` once per pair and `warmRounds` discarded rounds, then its share of the rounds (`keep`
 * true), the order reversed every other round across the blocks. One pair per kind for a whole run (until
 * 2026-12-02) let a process's own speed decide a row: five pairs of the same grpc-js server and client, taking
 * turns for 30 slices, ran at 0.95-1.02 of the first pair by their medians, their clients at 166-180 µs of CPU per
 * call, for as long as they lived (V8's compiled code and the connection's batching differ from one process to
 * the next). More slices of the same processes do not narrow that; more processes per kind do.
 */
async function inBlocks(ks: string[], clientCpus: number[], mode: string, { rounds, blocks, warmRounds }: Blocks, warm: (u: WarmPair) => Promise<unknown>, step: (u: WarmPair, keep: boolean, r: number) => Promise<void>): Promise<void> {
  let done = 0;
  let r = 0;
  for (let b = 0; b < blocks; b++) {
    const mine = Math.ceil((rounds - done) / (blocks - b));
    // Every other block starts the kinds in the opposite order: with the same code in every slot, the pair started
    // last ran about 5 % faster than the ones started before it (see docs/performance.md, fourteenth pass).
    await withWarmPairs(b % 2 ? [...ks].reverse() : ks, clientCpus, mode, async (up) => {
      for (const u of up) await warm(u);
      for (let i = 0; i < warmRounds + mine; i++, r++) {
        for (const u of turn(r, up)) await step(u, i >= warmRounds, r);
      }
    });
    done += mine;
  }
}
/** The RPC rows' passes: C.pairBlocks blocks after C.warmRounds discarded rounds each. */
const rpcBlocks = (rounds: number): Blocks => ({ rounds, blocks: C.pairBlocks, warmRounds: C.warmRounds });
/** A `slices` client's answer to one slice of `ms` ms, 32 in flight: calls/s and the CPU per call of it and of its server. */
const inflightSlice = async (c: WarmPair['cl'], ms: number) => JSON.parse(await c.ask(String(ms))) as { rate: number; clientUs: number; serverUs: number };
/** Round `r`'s order: as given, reversed every other round (a drift in the machine's speed falls on all alike). */
const turn = <T>(r: number, xs: readonly T[]): readonly T[] => (r % 2 ? [...xs].reverse() : xs);
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

const kinds = withBefore(['net', 'flyme-unix', 'tls', 'flyme-tls', 'grpc', 'grpc-bearer', 'flyme-grpc']);
const s: Samples = {};
const push = (k: string, v: number) => { (s[k] ??= []).push(v); };
const load = async (cpu: number, kind: string, path: string, pid: number, conns: number) =>
  client(cpu, kind, path, 'load', `${Math.max(C.load, conns * 32 * 5)},${conns},${pid}`) as Promise<{ rate: number; p99: number; clientUs: number; serverUs: number; serverRss: number }>;

// CPU per call and throughput under load (`--cpu` runs only this part): the server on CPU 0, the client on CPU 1
// ("own CPU") or on CPU 0 with the server ("one CPU", the normal case on a busy host); 8 connections x 32 in
// flight; and the connections curve (1 ... 512 connections x 32 in flight) for unix://. CPU time is read from
// the kernel for each process (client: process.cpuUsage, server: /proc/PID/task/*/schedstat, every thread), so it
// does not swing with wall-clock noise the way calls/s does.
if (want('cpu')) {
  // The judged rows (CPU per call, own CPU; calls/s, one CPU): each kind's server with two long-lived `slices`
  // clients, one on CPU 1 and one on CPU 0, started afresh for each of C.cpuBlocks blocks, warmed by a discarded
  // C.cpuWarmMs slice each and C.cpuWarmRounds discarded rounds, then taking turns in slices of C.cpuSliceMs (32
  // in flight on one connection; the two clients of a kind one after the other, both orders reversed every other
  // round), C.cpuSlices rounds in all. Until 2026-12-02 each of 11 rounds started a fresh server and client per
  // kind and counted 60 000 calls: in the full run of 2026-12-02 06:55 all 11 of FlyMe's unix:// one-CPU repeats
  // were slow (0.73x of node:net, 1.03x half an hour before) and a --only cpu run after it read unix+tls:// server
  // CPU per call 1.34x (per-repeat ratios 0.51-2.04): a figure from one short-lived process per round is as noisy
  // as these rows' margins. Slices from C.cpuBlocks processes per kind, neighbours in time, pair more alike.
  const cpuBlocks: Blocks = { rounds: C.cpuSlices, blocks: C.cpuBlocks, warmRounds: C.cpuWarmRounds };
  await inBlocks(withBefore(['net', 'flyme-unix', 'tls', 'flyme-tls']), [1, 0], 'slices', cpuBlocks, async (u) => { for (const c of u.cls) await inflightSlice(c, C.cpuWarmMs); }, async (u, keep, r) => {
    for (const which of turn(r, ['own', 'one'] as const)) {
      const x = await inflightSlice(which === 'own' ? u.cls[0]! : u.cls[1]!, C.cpuSliceMs);
      if (!keep) continue;
      if (which === 'own') {
        push(`${u.kind}.serverUs`, x.serverUs);
        push(`${u.kind}.clientUs`, x.clientUs);
      } else {
        push(`${u.kind}.oneCpuRate`, x.rate);
        push(`${u.kind}.oneCpuServerUs`, x.serverUs);
        push(`${u.kind}.oneCpuClientUs`, x.clientUs);
      }
    }
  });
}
// 8 connections x 32 in flight (client on CPU 1) and the connections curve (no targets; 512 connections take
// long): C.repeats rounds of a fresh server and client each, after a discarded round.
for (let r = smoke ? 1 : 0; want('cpu') && r <= C.repeats; r++) {
  for (const kind of withBefore(['net', 'flyme-unix', 'tls', 'flyme-tls'])) {
    await withServer(kind, async (path, pid) => {
      const eight = await load(1, kind, path, pid, 8);
      if (r === 0) return;
      push(`${kind}.c8Rate`, eight.rate);
      push(`${kind}.c8p99`, eight.p99);
    });
  }
  for (const kind of withBefore(['net', 'flyme-unix'])) {
    for (const n of C.curve) {
      await withServer(kind, async (path, pid) => {
        const x = await load(1, kind, path, pid, n);
        if (r === 0) return;
        push(`${kind}.curve${n}.rate`, x.rate);
        push(`${kind}.curve${n}.p99`, x.p99);
        push(`${kind}.curve${n}.rss`, x.serverRss / 1048576);
      });
    }
  }
}
{
  // Sequential calls (p50/p99, calls/s; client and server on CPU 0): every kind's server and one client process,
  // started afresh for each of C.pairBlocks blocks (inBlocks), warmed by a discarded slice of C.seqWarm calls (a
  // fifth of that for the grpc kinds) and C.warmRounds discarded rounds, then taking turns in slices of C.seq calls
  // (C.seqGrpc for the grpc kinds), C.seqSlices rounds in all, the order reversed every other round. Until 2026-12-02 each of 11 repeats started a fresh
  // server and client and ran 20 000 calls: this machine's round-trip time moves between two levels (node:net's
  // own p50 read ~25 and ~39 µs in slices a second apart), a repeat's FlyMe/baseline ratio swung from 0.65 to 1.7
  // whenever the level changed between the two processes' runs, and the unix:// p50 row read 1.27 in one full run
  // and 1.06 in the next (same code). Slices of a fraction of a second, neighbours in time, share the level far
  // more often, and a median over C.seqSlices of them leaves the pairs that straddle a change out.
  if (want('rpc')) {
    const slice = async (u: WarmPair, n: number) => JSON.parse(await u.cl.ask(String(n))) as { p50: number; p99: number; rate: number };
    await inBlocks(kinds, [0], 'seq-slices', rpcBlocks(C.seqSlices), (u) => slice(u, u.kind.includes('grpc') ? Math.ceil(C.seqWarm / 5) : C.seqWarm), async (u, keep) => {
      const x = await slice(u, u.kind.includes('grpc') ? C.seqGrpc : C.seq);
      if (!keep) return;
      push(`${u.kind}.p50`, x.p50);
      push(`${u.kind}.p99`, x.p99);
      push(`${u.kind}.seqRate`, x.rate);
    });
  }
  // 32 calls in flight on one connection (calls/s): every kind's server and one client process per kind, started
  // afresh for each of C.pairBlocks blocks (inBlocks), warmed by a discarded slice of C.warmSliceMs, then taking
  // turns in slices of C.sliceMs, C.inflightSlices rounds in all, the order reversed every other round (a drift in
  // the machine's speed falls on every kind alike).
  // Until 2026-12-01 each repeat started a fresh client and counted 2.5 s after a 500 ms warm-up: a fresh grpc-js
  // client (bare or FlyMe's) runs at a third to a half of its steady rate for its first ~2 s, until V8's
  // optimizing compiler has compiled it (with --no-opt it never gets past that rate), so those rows measured
  // mostly warm-up, and a round's FlyMe/baseline ratio swung from 0.49 to 1.42.
  if (want('rpc')) {
    // A grpc-js pair is not at its steady rate after the warm slice: in the full run of 2026-12-01 22:43 the
    // three grpc kinds' first two rounds ran at 0.63-0.67 and 0.83-0.88 of their medians (the third at 0.96-1.04),
    // so C.warmRounds whole rounds (every kind, in turn) are discarded too. The ratio of two grpc kinds swings
    // 0.7-1.3 from one slice to the next (the rate of every kind moves with the machine), so these rows take
    // C.inflightSlices slices to narrow the median: 21 until 2026-12-01; 31 in the first runs of 2026-12-02, when
    // flyme/grpc over grpc-js read 0.91, 0.92 and 0.89 in three full runs of the same code (its per-slice ratios
    // 0.69-1.21), a spread between runs as wide as the row's distance from its target; 61 (one block) later that
    // day; 60 in C.pairBlocks blocks since (see inBlocks).
    await inBlocks(kinds, [1], 'slices', rpcBlocks(C.inflightSlices), (u) => inflightSlice(u.cl, C.warmSliceMs), async (u, keep) => {
      const x = await inflightSlice(u.cl, C.sliceMs);
      if (!keep) return;
      push(`${u.kind}.inflight`, x.rate);
      // Each process's CPU per call in the same slices (reported for the grpc kinds: where flyme/grpc's cost lies).
      push(`${u.kind}.inflightServerUs`, x.serverUs);
      push(`${u.kind}.inflightClientUs`, x.clientUs);
    });
  }
  // Handshakes (a new connection, its handshake, the first call, close; client and server on CPU 0): a server and
  // a long-lived client per kind, warmed by a discarded full and resumed slice, then rounds of a full and a
  // resumed slice of C.sliceMs each per kind, the order reversed every other round, so each round's resumed/full
  // ratio pairs two slices of the same warm client seconds apart. C.slices rounds in C.handshakeBlocks blocks of
  // fresh processes (one set of processes for all 21 rounds until 2026-12-02, when FlyMe's resumed/full read
  // 2.17, 2.23, 2.26 on an Intel Xeon machine and then 1.96 on an AMD EPYC one, same handshake code; node:tls's own
  // read 1.84 in that last run, so the drop was the machine's; blocks make each run's median less one process's).
  if (want('handshakes')) {
    const slice = async (u: WarmPair, which: 'full' | 'resumed', ms: number) => {
      const x = JSON.parse(await u.cl.ask(`${which} ${ms}`)) as { rate: number; n: number; resumed: number };
      // A resumed figure must measure resumed handshakes only (every connection resumed its ticket), a full one none.
      if (x.resumed !== (which === 'resumed' ? x.n : 0)) throw new Error(`${u.kind}: ${x.resumed} of ${x.n} connections resumed in a ${which} slice`);
      return x.rate;
    };
    await inBlocks(withBefore(['tls', 'flyme-tls']), [0], 'connect-slices', { rounds: C.slices, blocks: C.handshakeBlocks, warmRounds: 0 },
      async (u) => { await slice(u, 'full', C.warmSliceMs / 2); await slice(u, 'resumed', C.warmSliceMs / 2); },
      async (u, keep, r) => {
        for (const which of turn(r, ['full', 'resumed'] as const)) {
          const rate = await slice(u, which, C.sliceMs);
          if (keep) push(`${u.kind}.${which === 'full' ? 'connectFull' : 'connectResumed'}`, rate);
        }
      });
  }
  // RSS per idle connection: interleaved repeats, median of 3 (one sample each used to be reported as the
  // "median"; single samples of the same server swung from 3 to 23 KB per connection). Each repeat starts a fresh
  // server, so there is no warm-up round to discard. Every server (baselines
  // and FlyMe alike) runs with the same fixed young generation (V8 semi-spaces of 1 MB): V8 grows and shrinks it
  // with the allocation rate of the moment (the burst of accepts and first calls), by up to 16 MB at once, and a
  // server whose young generation happened to change size between the two readings showed ±2-16 KB per
  // connection that no idle connection holds. Old space, code, malloc'ed and native memory are all still counted.
  for (let r = 1; r <= Math.min(3, C.repeats); r++) {
    for (const kind of want('rss') ? withBefore(['net', 'flyme-unix', 'tls', 'flyme-tls']) : []) {
      await withServer(kind, async (path, pid) => {
        const settled = async () => { process.kill(pid, 'SIGUSR2'); await new Promise((res) => setTimeout(res, 300)); return rssKb(pid); };
        // Unix connections are cheap to open and small (a few KB): 4000 of them (also in --smoke: 1000 gave a
        // negative figure in a CI run) rise above the server's other RSS movements (malloc arenas of V8's helper
        // threads, pages given back after a GC: about ±1.5 MB between two readings, ±1.5 KB per connection over 1000).
        const n = kind.includes('tls') ? C.idle : C.idleUnix;
        const hold = () => run(pin(1, [join(dirOf(kind), 'client.js'), bareKind(kind), path, certs, 'idle', String(n)]), 'held');
        // The marginal cost: a first set of connections stays open (heap, code and buffers at their working size),
        // then a second set is measured on top of it. Measured from a fresh server, a GC giving back start-up
        // memory could outweigh the connections and gave negative figures (so did a warm-up set opened and closed
        // first: the pages it freed were given back during the measured set).
        const first = await hold();
        const before = await settled();
        const { proc } = await hold();
        const after = await settled();
        proc.kill('SIGKILL');
        first.proc.kill('SIGKILL');
        push(`${kind}.rssPerConn`, ((after - before) * 1024) / n);
      }, ['--min-semi-space-size=1', '--max-semi-space-size=1']);
    }
  }
  if (want('cli')) await withServer('flyme-unix', async (path) => {
    const flyme = join(here, '../src/cli/flyme.js');
    const wall = (args: string[]) => { const t = performance.now(); const r = spawnSync(process.execPath, args); if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`); return performance.now() - t; };
    for (let i = 0; i <= C.cli; i++) {
      const node = wall(['-e', '0']);
      const cli = wall([flyme, '--connect', `unix://${path}`, 'ping']);
      const old = before ? wall([before.cliPath, '--connect', `unix://${path}`, 'ping']) : undefined;
      if (i === 0) continue;
      push('node.coldMs', node);
      push('cli.coldMs', cli);
      if (old !== undefined) push(`${BEFORE}cli.coldMs`, old);
    }
  });
  if (haveRedis && want('redis')) {
    const redis = await startBenchRedis(certs, haveTaskset ? ['taskset', '-c', '0'] : []);
    try {
      for (let r = smoke ? 1 : 0; r <= C.repeats; r++) {
        for (const kind of withBefore(['redis-plain', 'redis-signed', 'redis-signed-single'])) {
          const x = await client(1, kind, redis.url, 'pubsub', C.pubsub);
          if (r > 0) push(`${kind}.pubsub`, x.rate);
        }
      }
    } finally {
      redis.stop();
    }
  }
  if (haveRedis && want('redis-cluster')) {
    // 3 masters + 3 replicas on CPU 0 (like the single redis-server), the publishing/subscribing client on CPU 1.
    const dir = mkdtempSync(join(tmpdir(), 'flyme-bench-cluster-'));
    const tls = (name: string) => ({ cert: join(certs, `${name}.pem`), key: join(certs, `${name}.key.pem`), ca: join(certs, 'root-ca.pem') });
    const cluster = await startRedisCluster(dir, tls('redis'), tls('client'), { wrap: haveTaskset ? ['taskset', '-c', '0'] : [] });
    try {
      for (let r = smoke ? 1 : 0; r <= C.repeats; r++) {
        for (const kind of withBefore(['cluster-plain', 'cluster-signed'])) {
          const x = await client(1, kind, cluster.urls.join(','), 'pubsub', C.pubsub);
          if (r > 0) push(`${kind}.pubsub`, x.rate);
        }
      }
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (want('micro')) {
    // C.repeats rounds, each a fresh process on CPU 1 (bench/micro-child.ts: every rate the median of 9 windows,
    // the cases taking turns), so a row's ratio pairs FlyMe's and the raw figure of the same process; with --before today's and the old
    // build's processes alternate. Until 2026-12-02 a run without --before measured these once, in the runner's
    // own unpinned process: JWT verify of a new token read 0.90x and 0.74x of crypto.verify in two full runs.
    const child = async (dir: string) => JSON.parse((await run(pin(1, [join(dir, 'micro-child.js'), String(C.microMs)]))).out) as Record<string, number>;
    for (let r = 0; r < C.repeats; r++) {
      for (const [dir, prefix] of before ? [[here, ''], [before.benchDir, BEFORE]] as const : [[here, '']] as const) {
        for (const [k, v] of Object.entries(await child(dir))) push(`${prefix}micro.${k}`, v);
      }
    }
  }
}
rmSync(certs, { recursive: true, force: true });
before?.cleanup();

const result = {
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown',
  pinned: haveTaskset, mode: (smoke ? 'smoke' : quick ? 'quick' : 'full') + (only ? ` (only ${only.join(',')})` : ''), config: C, payloadBytes: 64,
  baselines: {
    net: 'node:net NDJSON JSON-RPC over a Unix socket, hand-written (bench/server.ts, bench/client.ts)',
    tls: 'the same over node:tls, mutual TLS 1.3',
    grpc: '@grpc/grpc-js unary call, mutual TLS over a Unix socket, JSON serialisers',
    'grpc-bearer': 'the same grpc-js call with the bearer JWT flyme/grpc sends (same claims and length) attached per call, not verified',
  },
  rows: buildRows(s),
  samples: s,
  ...(before ? { before: { rev: before.rev, subject: before.subject, rows: beforeAfterRows(buildRows(s), buildRows(beforeSamples(s))) } } : {}),
};
const md = toMarkdown(result) + (result.before ? `\n${beforeMarkdown(result.before)}` : '');
if (!smoke && !only) {
  // Only a full run (every case, 5 repeats) rewrites the generated parts of docs/performance.md and README.md:
  // those are never edited by hand.
  const name = result.mode === 'full' ? 'latest' : result.mode;
  mkdirSync(join(here, '../../bench/results'), { recursive: true });
  writeFileSync(join(here, `../../bench/results/${name}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(here, `../../bench/results/${name}.md`), md);
  if (name === 'latest') writeGeneratedDocs(join(here, '../..'), result);
}
process.stdout.write(jsonOnly ? JSON.stringify(result) + '\n' : md);
const invalid = result.rows.filter((x) => x.invalid);
if (invalid.length > 0) {
  process.stderr.write(`bench: ${invalid.length} figure(s) cannot be right:\n${invalid.map((x) => `  ${x.case}: ${x.invalid}`).join('\n')}\n`);
  process.exit(3);
}
