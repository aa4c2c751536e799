// The shared fast-check settings (test/helpers/property.ts): fixed seed by default, random seed and many runs under
// FLYME_FUZZ=1, the seed in every failure report, and the per-call checks the fuzz properties rely on.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { flymeError } from '../../src/errors.js';
import { FIXED_SEED, FUZZ_RUNS, fcOptions, onlyExpectedErrors, onlyExpectedErrorsAsync } from '../helpers/property.js';

describe('fcOptions', () => {
  it('default run: the fixed seed and the given number of runs', () => {
    assert.deepEqual(fcOptions(500, {}), { seed: FIXED_SEED, numRuns: 500, includeErrorInReport: true });
    assert.deepEqual(fcOptions(200, { FLYME_FUZZ: '0' }), { seed: FIXED_SEED, numRuns: 200, includeErrorInReport: true });
  });

  it('FLYME_FUZZ=1: a random integer seed and 10 000 runs; FLYME_FUZZ_SEED and FLYME_FUZZ_RUNS override', () => {
    const o = fcOptions(500, { FLYME_FUZZ: '1' });
    assert.ok(Number.isInteger(o.seed));
    assert.equal(o.numRuns, FUZZ_RUNS);
    assert.deepEqual(fcOptions(500, { FLYME_FUZZ: '1', FLYME_FUZZ_SEED: '-42', FLYME_FUZZ_RUNS: '20000' }), { seed: -42, numRuns: 20_000, includeErrorInReport: true });
    assert.deepEqual(fcOptions(500, { FLYME_FUZZ_SEED: '7' }), { seed: 7, numRuns: 500, includeErrorInReport: true });
    assert.throws(() => fcOptions(500, { FLYME_FUZZ_SEED: 'x' }), /FLYME_FUZZ_SEED must be an integer/);
  });

  it('a failing property reports the seed, the path to replay it and the failing assertion (control: a passing one does not throw)', () => {
    fc.assert(fc.property(fc.nat(), (n) => n >= 0), fcOptions(50, {}));
    assert.throws(
      () => fc.assert(fc.property(fc.nat(), (n) => assert.ok(n < 10, 'n is small')), fcOptions(50, {})),
      (e: unknown) => e instanceof Error && e.message.includes(`seed: ${FIXED_SEED}`) && /path: "[\d:]+"/.test(e.message)
        && e.message.includes('Counterexample: [10]') && e.message.includes('n is small'),
    );
  });
});

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

describe('onlyExpectedErrors', () => {
  it('a FlyMeError is an outcome; any other error fails with its name; values pass through', () => {
    assert.deepEqual(onlyExpectedErrors('f', () => 1), { ok: true, value: 1 });
    const r = onlyExpectedErrors('f', () => { throw flymeError('FLYME_INVALID_CONFIG', 'bad'); });
    assert.ok(!r.ok && r.error.code === 'FLYME_INVALID_CONFIG');
    assert.throws(() => onlyExpectedErrors('f', () => { throw new TypeError('boom'); }), /f threw an unexpected TypeError: boom/);
  });

  it('async: a rejection other than FlyMeError fails, and so does a call that never settles', async () => {
    const r = await onlyExpectedErrorsAsync('g', () => Promise.reject(flymeError('FLYME_TIMEOUT', 't')));
    assert.ok(!r.ok && r.error.code === 'FLYME_TIMEOUT');
    await assert.rejects(onlyExpectedErrorsAsync('g', () => Promise.reject(new RangeError('deep'))), /g threw an unexpected RangeError: deep/);
    await assert.rejects(onlyExpectedErrorsAsync('g', () => new Promise(() => {}), undefined, { hangMs: 50 }), /g did not settle within 50 ms/);
  });

  it('a call that uses more CPU than the bound fails (control: the same call under a larger bound passes)', () => {
    const spin = () => { const end = cpu() + 30; while (cpu() < end); return 1; };
    assert.throws(() => onlyExpectedErrors('spin', spin, undefined, { cpuMs: 10 }), /spin used \d+ ms of CPU .* \(fuzz bound 10 ms\)/);
    assert.deepEqual(onlyExpectedErrors('spin', spin, undefined, { cpuMs: 10_000 }), { ok: true, value: 1 });
  });
});
