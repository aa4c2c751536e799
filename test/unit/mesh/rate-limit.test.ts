import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceRateLimiter } from '../../../src/mesh/rate-limit.js';

test('a source gets its burst, then its rate; other sources are not affected', () => {
  const l = new SourceRateLimiter({ perSecond: 10, burst: 5 });
  const t = 1_000_000;
  const got = Array.from({ length: 8 }, () => l.take('10.0.0.1', t)).filter(Boolean).length;
  assert.equal(got, 5);
  assert.equal(l.take('10.0.0.2', t), true);
  assert.equal(l.take('10.0.0.1', t + 100), true); // one token per 100 ms
  assert.equal(l.take('10.0.0.1', t + 100), false);
  assert.equal(l.refused, 4);
});

test('the table of sources is bounded', () => {
  const l = new SourceRateLimiter({ maxSources: 100 });
  for (let i = 0; i < 10_000; i++) l.take(`10.0.${i >> 8}.${i & 255}`, 0);
  assert.equal(l.size, 100);
});
