// `--before REV`: the old build's samples (`before:KEY`) stand in for today's FlyMe samples and nothing else; a
// FlyMe figure the old build did not measure is never shown as the old figure; before/after rows pair by case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beforeSamples } from '../../../bench/before.js';
import { beforeAfterRows, beforeMarkdown, buildRows } from '../../../bench/report.js';

const SERVER_CPU = 'server CPU per call, unix://, 32 in flight (µs)';

test('old samples replace today\'s FlyMe samples; baselines stay; an unmeasured FlyMe figure is dropped, not borrowed', () => {
  const s = {
    'net.serverUs': [4], 'flyme-unix.serverUs': [5], 'before:flyme-unix.serverUs': [9],
    'tls.serverUs': [3], 'flyme-tls.serverUs': [4], // the old build did not run flyme-tls here
    'micro.rawVerify': [100], 'micro.flymeVerifyNew': [80], 'before:micro.rawVerify': [110], 'before:micro.flymeVerifyNew': [40],
  };
  const old = beforeSamples(s);
  assert.deepEqual(old['flyme-unix.serverUs'], [9]);
  assert.deepEqual(old['net.serverUs'], [4]);
  assert.equal(old['flyme-tls.serverUs'], undefined);
  assert.deepEqual(old['tls.serverUs'], [3]);
  assert.deepEqual(old['micro.rawVerify'], [110], 'the old micro child\'s own raw baseline');
  assert.ok(!Object.keys(old).some((k) => k.startsWith('before:')));
  // Control: today's samples are untouched.
  assert.deepEqual(s['flyme-unix.serverUs'], [5]);
});

test('before/after rows pair the same case; ratios and which way is better; FlyMe-vs-FlyMe rows compare their ratio', () => {
  const s = {
    'net.serverUs': [4], 'flyme-unix.serverUs': [5], 'before:flyme-unix.serverUs': [10],
    'tls.serverUs': [3], 'flyme-tls.serverUs': [4],
    'tls.connectFull': [200], 'tls.connectResumed': [300],
    'flyme-tls.connectFull': [100], 'flyme-tls.connectResumed': [250], 'before:flyme-tls.connectFull': [50], 'before:flyme-tls.connectResumed': [150],
  };
  const rows = beforeAfterRows(buildRows(s), buildRows(beforeSamples(s)));
  const cpu = rows.find((r) => r.case === SERVER_CPU)!;
  assert.equal(cpu.before, 10);
  assert.equal(cpu.after, 5);
  assert.equal(cpu.beforeRatio, 2.5);
  assert.equal(cpu.afterRatio, 1.25);
  assert.equal(cpu.beforeOk, false);
  assert.equal(cpu.afterOk, true);
  assert.equal(cpu.unit, 'lower is better');
  assert.equal(rows.find((r) => r.case.startsWith('server CPU per call, unix+tls')), undefined, 'not measured before: no row');
  assert.ok(buildRows(s).some((r) => r.case.includes('node:tls, for comparison')), 'control: the baseline-only row is reported');
  assert.equal(rows.find((r) => r.case.includes('node:tls, for comparison')), undefined, 'two baselines: no before/after');
  const ratio = rows.find((r) => r.baseline === 'FlyMe full')!;
  assert.equal(ratio.before, 3);
  assert.equal(ratio.after, 2.5);
  const md = beforeMarkdown({ rev: 'abc1234', subject: 'x', rows });
  assert.match(md, /FlyMe at abc1234/);
  assert.match(md, /\| 10\.0 \| 2\.50 MISSED \| 5\.0 \| 1\.25 met \| ≤ 1\.3 \| 0\.50 \(lower is better\) \|/);
});
