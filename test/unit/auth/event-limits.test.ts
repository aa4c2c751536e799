// limitSecurityEvents: a flood of one kind reaches the sink as `perSecond` events plus one counted summary;
// other kinds are untouched (the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitSecurityEvents, type SecurityEvent } from '../../../src/auth/events.js';

test('a flood of refused handshakes becomes 20 records and one summary; denials pass one by one', async () => {
  const got: SecurityEvent[] = [];
  const sink = limitSecurityEvents({ emit: (e) => got.push(e) }, ['handshake_failed'], 20);
  for (let i = 0; i < 100; i++) sink.emit({ kind: 'handshake_failed', severity: 'warning', source: 't', message: `refused ${i}` });
  for (let i = 0; i < 30; i++) sink.emit({ kind: 'denied', severity: 'warning', source: 't', message: `denied ${i}` });
  assert.equal(got.filter((e) => e.kind === 'handshake_failed').length, 20);
  assert.equal(got.filter((e) => e.kind === 'denied').length, 30);
  await new Promise((r) => setTimeout(r, 1100));
  const summary = got.filter((e) => e.kind === 'handshake_failed').at(-1)!;
  assert.equal(summary.details?.suppressed, 80);
  assert.match(summary.message, /80 more handshake_failed events/);
  sink.emit({ kind: 'handshake_failed', severity: 'warning', source: 't', message: 'next second' });
  assert.equal(got.at(-1)!.message, 'next second', 'a new second starts a new budget');
});
