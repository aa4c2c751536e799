/**
 * `node dist/bench/cpu-pair.js [REPEATS] [CALLS]`: server CPU per call of FlyMe and its hand-written baseline
 * measured AT THE SAME TIME: both servers pinned on CPU 0, both load clients (bench/client.ts `load CALLS,1,PID`:
 * one connection, 32 calls in flight) on CPU 1, started together, so that whatever else runs on this shared
 * machine slows both sides of a pair alike. Pairs: node:net vs flyme-unix, node:tls vs flyme-tls; the side
 * started first alternates per repeat; fresh servers every repeat, the first repeat discarded. Prints each
 * pair's server µs per call (/proc/PID/task/TID/schedstat summed over every thread, see client.ts) and FlyMe/baseline ratio, the median ratio,
 * and the server's reads per call (how many of the 32 calls one read carries) as one JSON line.
 *
 * Why: the sequential rows of `npm run bench -- --only cpu` measure the baseline and FlyMe seconds apart; with
 * other jobs on the two CPUs a single sample swings by ±40 %. The two loads of a pair overlap but need not end
 * together: the one that finishes later runs its tail alone (the printed rates show how far apart they were).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBenchCerts } from './certs.js';
import { pin, run } from './procs.js';
import { median } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const repeats = Math.max(2, Number(process.argv[2] ?? 6));
const calls = Math.max(1000, Number(process.argv[3] ?? 60_000));


interface Load { rate: number; serverUs: number; serverReadsPerCall: number }

const certs = mkdtempSync(join(tmpdir(), 'flyme-cpu-pair-certs-'));
await makeBenchCerts(certs);

/** One repeat of one pair: both servers up, both loads at once; `first` decides whose processes start first. */
async function pair(baseline: string, flyme: string, first: 'baseline' | 'flyme'): Promise<{ baseline: Load; flyme: Load }> {
  const kinds = first === 'baseline' ? [baseline, flyme] : [flyme, baseline];
  const dirs = kinds.map(() => mkdtempSync(join(tmpdir(), 'flyme-cpu-pair-')));
  const servers: ChildProcess[] = [];
  try {
    for (const [i, kind] of kinds.entries()) {
      servers.push((await run(pin(0, ['--expose-gc', join(here, 'server.js'), kind, join(dirs[i]!, 's.sock'), certs]), 'ready')).proc);
    }
    const loads = await Promise.all(kinds.map(async (kind, i) => JSON.parse((await run(pin(1, [join(here, 'client.js'), kind, join(dirs[i]!, 's.sock'), certs, 'load', `${calls},1,${servers[i]!.pid}`]))).out) as Load));
    const [a, b] = loads as [Load, Load];
    return first === 'baseline' ? { baseline: a, flyme: b } : { baseline: b, flyme: a };
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const result: Record<string, unknown> = { calls, repeats: repeats - 1 };
const ratios: Record<string, number[]> = {};
const pairs: Array<[string, string, string]> = [['net', 'flyme-unix', 'unix'], ['tls', 'flyme-tls', 'unix+tls']];
for (let r = 0; r < repeats; r++) {
  for (const [baseline, flyme, name] of pairs) {
    const p = await pair(baseline, flyme, r % 2 === 0 ? 'baseline' : 'flyme');
    if (r === 0) continue; // warm-up
    (ratios[name] ??= []).push(p.flyme.serverUs / p.baseline.serverUs);
    ((result[`${name} samples`] ??= []) as unknown[]).push({
      baselineUs: round(p.baseline.serverUs, 2), flymeUs: round(p.flyme.serverUs, 2), ratio: round(p.flyme.serverUs / p.baseline.serverUs),
      rates: [Math.round(p.baseline.rate), Math.round(p.flyme.rate)], readsPerCall: [round(p.baseline.serverReadsPerCall, 4), round(p.flyme.serverReadsPerCall, 4)],
    });
  }
}
for (const [name, rs] of Object.entries(ratios)) result[`${name} median ratio`] = round(median(rs));
rmSync(certs, { recursive: true, force: true });
process.stdout.write(JSON.stringify(result) + '\n');
