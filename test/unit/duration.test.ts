import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseDurationSeconds, formatDuration, MAX_TIMER_MS, sweepPeriodMs } from '../../src/duration.js';
import { FlyMeError } from '../../src/errors.js';

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof FlyMeError);
    assert.equal(e.code, 'FLYME_INVALID_CONFIG');
    assert.match(e.message, pattern);
    return true;
  });
}

test('each unit, decimals and combinations largest first', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(' 2m '), 120_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1d2h3m4s5ms'), 86_400_000 + 7_200_000 + 180_000 + 4000 + 5);
});

test('a bare number is refused and the message names the units', () => {
  for (const t of ['30', '0', '1.5', '60000']) {
    refused(() => parseDuration(t), new RegExp(`a bare number has no unit; write ${t.replace('.', '\\.')}ms, ${t.replace('.', '\\.')}s, .*units: ms, s, m, h, d`));
  }
  refused(() => parseDuration('30', { name: '--idle-timeout' }), /^--idle-timeout: invalid duration "30"/);
});

test('malformed texts are refused', () => {
  for (const t of ['', ' ', 's', '1x', '-5s', '+5s', '5 s', '1h 30m', '1e3ms', '0x10s', '5sec', '1.s', '.5s', 'NaN', '1h1h', '30m1h', '5ms1s', 'x'.repeat(100)]) {
    refused(() => parseDuration(t), /invalid duration/);
  }
  refused(() => parseDuration(undefined as unknown as string), /invalid duration/);
});

test('zero and limits', () => {
  refused(() => parseDuration('0s'), /more than 0/);
  assert.equal(parseDuration('0s', { allowZero: true }), 0);
  refused(() => parseDuration('25d', { maxMs: MAX_TIMER_MS }), /at most 24d20h31m23s647ms/);
  assert.equal(parseDuration('24d', { maxMs: MAX_TIMER_MS }), 24 * 86_400_000);
});

test('whole seconds for lifetimes', () => {
  assert.equal(parseDurationSeconds('15m'), 900);
  assert.equal(parseDurationSeconds('1h'), 3600);
  refused(() => parseDurationSeconds('1500ms'), /whole number of seconds/);
  refused(() => parseDurationSeconds('900'), /bare number/);
});

test('formatDuration', () => {
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(1500), '1s500ms');
  assert.equal(formatDuration(0), '0s');
});

test('sweepPeriodMs: a quarter of the timeout, between 20 and 250 ms', () => {
  assert.equal(sweepPeriodMs(200), 50);
  assert.equal(sweepPeriodMs(10_000), 250);
  assert.equal(sweepPeriodMs(40), 20);
  assert.equal(sweepPeriodMs(MAX_TIMER_MS), 250);
});
