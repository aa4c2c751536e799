// AlertCenter: denials become alerts, bursts from one principal raise one burst alert per window,
// the ring is bounded, privileged calls are not alerts, a subscriber that falls behind is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertCenter, type Subscriber } from '../../../src/daemon/alerts.js';
import type { SecurityEvent } from '../../../src/auth/events.js';

const denied = (uid: number): SecurityEvent => ({ kind: 'denied', severity: 'warning', source: 't', message: 'no', principal: { peer: { uid } }, subject: 'status' });

test('bursts: 5 failures from one uid within the window raise one burst alert; other uids do not count', () => {
  let now = 1_000_000;
  const c = new AlertCenter({ now: () => now });
  for (let i = 0; i < 4; i++) { c.emit(denied(7)); c.emit(denied(8)); now += 100; }
  assert.equal(c.counts.byKind.burst, undefined, 'control: 4 each is below the threshold');
  c.emit(denied(7));
  assert.equal(c.counts.byKind.burst, 1);
  assert.match(c.recent(1)[0]!.message, /5 failures from uid:7/);
  for (let i = 0; i < 10; i++) c.emit(denied(7));
  assert.equal(c.counts.byKind.burst, 1, 'one burst alert per window');
  now += 20_000;
  for (let i = 0; i < 5; i++) c.emit(denied(7));
  assert.equal(c.counts.byKind.burst, 2, 'a new window raises again');
});

test('ring bounded, newest first; privileged calls are not alerts', () => {
  const c = new AlertCenter({ capacity: 3, burstCount: 1000 });
  for (let i = 0; i < 5; i++) c.emit({ ...denied(i), message: `m${i}` });
  c.emit({ kind: 'privileged_call', severity: 'info', source: 't', message: 'list called' });
  assert.deepEqual(c.recent(10).map((a) => a.message), ['m4', 'm3', 'm2']);
  assert.equal(c.counts.total, 5);
});

test('a subscriber past its backlog is dropped with a final notice; a reading one keeps receiving', () => {
  const c = new AlertCenter({ burstCount: 1000, maxSubscriberBacklogBytes: 100 });
  const got: { slow: string[]; fast: string[] } = { slow: [], fast: [] };
  let slowBacklog = 0;
  let dropped = false;
  const slow: Subscriber = { send: (_m, p) => { got.slow.push((p as { kind: string }).kind); slowBacklog += 60; return true; }, backlog: () => slowBacklog, drop: () => { dropped = true; } };
  const fast: Subscriber = { topics: new Set(['denied']), send: (_m, p) => { got.fast.push((p as { kind: string }).kind); return true; }, backlog: () => 0, drop: () => assert.fail('fast must not be dropped') };
  c.subscribe(slow);
  c.subscribe(fast);
  for (let i = 0; i < 5; i++) c.emit(denied(i));
  c.emit({ kind: 'kill', severity: 'critical', source: 't', message: 'k' });
  assert.equal(dropped, true);
  assert.deepEqual(got.slow, ['denied', 'denied', 'subscriber_dropped']);
  assert.deepEqual(got.fast, ['denied', 'denied', 'denied', 'denied', 'denied'], 'topics filter: kill not sent to a denied-only subscriber');
  assert.equal(c.subscriberCount, 1);
});
