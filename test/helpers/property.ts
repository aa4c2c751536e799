/**
 * Shared fast-check settings. The default test run (`npm test`) is deterministic: a fixed seed and a few hundred
 * runs per property. `npm run fuzz` sets FLYME_FUZZ=1: a fresh random seed (printed at start, and by fast-check
 * in every failure report together with the shrink path) and 10 000 runs per property.
 *
 *   FLYME_FUZZ_SEED=<n>   replay a fuzz run with that seed (also in the default run)
 *   FLYME_FUZZ_RUNS=<n>   runs per property under FLYME_FUZZ=1 (default 10 000)
 *
 * To replay a failure exactly, pass the reported `seed` and `path` to fc.assert (fast-check prints both).
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type fc from 'fast-check';
import { FlyMeError } from '../../src/errors.js';

/** The seed of the default (non-fuzz) run. Any fixed number will do; it never changes by itself. */
export const FIXED_SEED = 0x0f1e5eed;
/** Runs per property under FLYME_FUZZ=1. */
export const FUZZ_RUNS = 10_000;
/**
 * A fuzz bound, not a performance target: one call of a parser using more CPU than this is a bug (a blow-up).
 * CPU time of this process, not wall time, so that a machine busy with other work does not fail a property.
 */
export const CALL_BOUND_MS = 1000;
/** An async call that has not settled after this much wall time is taken for a hang. */
export const HANG_BOUND_MS = 10_000;

type Env = Record<string, string | undefined>;

export const fuzzing = (env: Env = process.env): boolean => env.FLYME_FUZZ === '1';

let fuzzSeed: number | undefined;
const announced = new Set<number>();

function intFromEnv(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new Error(`${name} must be an integer (got ${JSON.stringify(v)})`);
  return Number(v);
}

/**
 * fast-check parameters for one property: `{ seed: FIXED_SEED, numRuns: defaultRuns }` in the default run,
 * `{ seed: <random, printed>, numRuns: 10 000 }` under FLYME_FUZZ=1; failure reports carry the seed, the path
 * and the failing assertion. `env` is injectable for tests.
 */
export function fcOptions<T = unknown>(defaultRuns = 500, env: Env = process.env): fc.Parameters<T> {
  const seedOverride = intFromEnv(env, 'FLYME_FUZZ_SEED');
  // includeErrorInReport: node:test does not print an error's cause, so the failing assertion goes into the message.
  if (!fuzzing(env)) return { seed: seedOverride ?? FIXED_SEED, numRuns: defaultRuns, includeErrorInReport: true };
  const seed = seedOverride ?? (fuzzSeed ??= randomInt(-(2 ** 31), 2 ** 31 - 1));
  if (env === process.env && !announced.has(seed)) {
    announced.add(seed);
    process.stdout.write(`# fast-check fuzz seed ${seed} (replay: FLYME_FUZZ=1 FLYME_FUZZ_SEED=${seed})\n`);
  }
  return { seed, numRuns: Math.max(defaultRuns, intFromEnv(env, 'FLYME_FUZZ_RUNS') ?? FUZZ_RUNS), includeErrorInReport: true };
}

/** What one fuzzed call did: returned a value, or threw one of the allowed errors. */
export type Outcome<R, E> = { ok: true; value: R } | { ok: false; error: E };

const isFlyMeError = (e: unknown): e is FlyMeError => e instanceof FlyMeError;

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

/** CPU time (user + system, all threads of this process) in ms. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The bounds of one call (injectable for tests of this helper). */
export interface CallBounds {
  cpuMs?: number;
  hangMs?: number;
}

function checkTime(what: string, startedCpu: number, startedWall: number, bound: number): void {
  const cpu = cpuMs() - startedCpu;
  if (cpu > bound) {
    throw new Error(`${what} used ${Math.round(cpu)} ms of CPU (${Math.round(performance.now() - startedWall)} ms wall) for one input (fuzz bound ${bound} ms)`);
  }
}

/**
 * Calls `fn` once. Fails (throws a plain Error naming the culprit) when `fn` throws anything that `allowed`
 * does not accept (default: only FlyMeError) or uses more than {@link CALL_BOUND_MS} of CPU.
 */
export function onlyExpectedErrors<R, E = FlyMeError>(what: string, fn: () => R, allowed: (e: unknown) => e is E = isFlyMeError as never, bounds: CallBounds = {}): Outcome<R, E> {
  const [cpu, wall] = [cpuMs(), performance.now()];
  let out: Outcome<R, E>;
  try {
    out = { ok: true, value: fn() };
  } catch (e) {
    if (!allowed(e)) throw new Error(`${what} threw an unexpected ${describe(e)}`, { cause: e });
    out = { ok: false, error: e };
  }
  checkTime(what, cpu, wall, bounds.cpuMs ?? CALL_BOUND_MS);
  return out;
}

/** {@link onlyExpectedErrors} for async calls; a call that does not settle within {@link HANG_BOUND_MS} fails as well. */
export async function onlyExpectedErrorsAsync<R, E = FlyMeError>(what: string, fn: () => Promise<R>, allowed: (e: unknown) => e is E = isFlyMeError as never, bounds: CallBounds = {}): Promise<Outcome<R, E>> {
  const hangMs = bounds.hangMs ?? HANG_BOUND_MS;
  const [cpu, wall] = [cpuMs(), performance.now()];
  let timer: NodeJS.Timeout | undefined;
  const hangError = new Error(`${what} did not settle within ${hangMs} ms (fuzz bound)`);
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(hangError), hangMs);
  });
  let out: Outcome<R, E>;
  try {
    out = { ok: true, value: await Promise.race([fn(), hang]) };
  } catch (e) {
    if (e === hangError) throw e;
    if (!allowed(e)) throw new Error(`${what} threw an unexpected ${describe(e)}`, { cause: e });
    out = { ok: false, error: e };
  } finally {
    clearTimeout(timer);
  }
  checkTime(what, cpu, wall, bounds.cpuMs ?? CALL_BOUND_MS);
  return out;
}
