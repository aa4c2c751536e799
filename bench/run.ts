/**
 * `npm run bench [-- --quick] [--json]`: FlyMe side by side with hand-written baselines, interleaved
 * (A B A B ...), processes pinned with taskset (server CPU 0; sequential client CPU 0; in-flight client
 * CPU 1), median of the repeats after a discarded warm-up. Writes bench/results/latest.{json,md}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const jsonOnly = process.argv.includes('--json');
const REPEATS = quick ? 3 : 5;
const SEQ_CALLS = quick ? 10000 : 20000; // fewer calls measure JIT warm-up, not steady state
const INFLIGHT_MS = quick ? 800 : 3000;
const haveTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (cpu: number, args: string[]) => (haveTaskset ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args]) as [string, string[]];

function run(cmd: [string, string[]]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], cmd[1], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd[1].join(' ')} exited ${code}`))));
  });
}

async function withServer<T>(kind: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-bench-'));
  const path = join(dir, 's.sock');
  const [cmd, args] = pin(0, [join(here, 'server.js'), kind, path]);
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    p.once('exit', (c) => reject(new Error(`bench server ${kind} exited ${c}`)));
  });
  try {
    return await fn(path);
  } finally {
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

interface Sample { p50: number[]; p99: number[]; seqRate: number[]; inflight: number[] }
const kinds = ['net', 'flyme-unix'] as const;
const samples: Record<string, Sample> = Object.fromEntries(kinds.map((k) => [k, { p50: [], p99: [], seqRate: [], inflight: [] }]));

for (let r = 0; r <= REPEATS; r++) {
  for (const kind of kinds) {
    await withServer(kind, async (path) => {
      const seq = JSON.parse(await run(pin(0, [join(here, 'client.js'), kind, path, 'seq', String(SEQ_CALLS)])));
      const inf = JSON.parse(await run(pin(1, [join(here, 'client.js'), kind, path, 'inflight', String(INFLIGHT_MS)])));
      if (r === 0) return; // discarded warm-up round
      samples[kind]!.p50.push(seq.p50);
      samples[kind]!.p99.push(seq.p99);
      samples[kind]!.seqRate.push(seq.rate);
      samples[kind]!.inflight.push(inf.rate);
    });
  }
}

const m = (k: string, f: keyof Sample) => median(samples[k]![f]);
const rows = [
  { case: 'unix:// sequential p50 (µs)', baseline: m('net', 'p50'), flyme: m('flyme-unix', 'p50'), ratio: m('flyme-unix', 'p50') / m('net', 'p50'), target: '≤ 1.25', ok: m('flyme-unix', 'p50') / m('net', 'p50') <= 1.25 },
  { case: 'unix:// sequential p99 (µs)', baseline: m('net', 'p99'), flyme: m('flyme-unix', 'p99'), ratio: m('flyme-unix', 'p99') / m('net', 'p99'), target: '', ok: true },
  { case: 'unix:// sequential calls/s', baseline: m('net', 'seqRate'), flyme: m('flyme-unix', 'seqRate'), ratio: m('flyme-unix', 'seqRate') / m('net', 'seqRate'), target: '', ok: true },
  { case: 'unix:// 32 in flight calls/s', baseline: m('net', 'inflight'), flyme: m('flyme-unix', 'inflight'), ratio: m('flyme-unix', 'inflight') / m('net', 'inflight'), target: '≥ 0.8', ok: m('flyme-unix', 'inflight') / m('net', 'inflight') >= 0.8 },
];
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  pinned: haveTaskset,
  quick,
  repeats: REPEATS,
  payloadBytes: 64,
  baseline: 'node:net NDJSON JSON-RPC over a Unix socket, hand-written (bench/server.ts, bench/client.ts)',
  rows,
  samples,
};
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const md = [
  `# FlyMe benchmark (${result.date}, Node ${result.node}, ${result.cpus} CPUs ${result.cpuModel}, ${haveTaskset ? 'pinned: server CPU 0, sequential client CPU 0, in-flight client CPU 1' : 'NOT pinned (taskset missing)'}${quick ? ', quick' : ''})`,
  '',
  `Median of ${REPEATS} interleaved repeats after a discarded warm-up; 64-byte payload. Baseline: ${result.baseline}.`,
  '',
  '| case | Node net baseline | FlyMe | ratio | target | |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.case} | ${fmt(r.baseline)} | ${fmt(r.flyme)} | ${r.ratio.toFixed(2)} | ${r.target} | ${r.target ? (r.ok ? 'met' : 'MISSED') : ''} |`),
  '',
].join('\n');
mkdirSync(join(here, '../../bench/results'), { recursive: true });
writeFileSync(join(here, '../../bench/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(here, '../../bench/results/latest.md'), md);
process.stdout.write(jsonOnly ? JSON.stringify(result) + '\n' : md);
