// Handshake deadlines share one interval (deadlines.ts): a deadline fires once, no earlier than its time and at
// most about one period later; a cancelled one never fires; an expiry that throws neither escapes nor stops the
// others; and the interval goes away once nothing is pending (an idle server keeps no timer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineSweep } from '../../../src/identity/tls/deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('DeadlineSweep: fires after its time, once; cancelled ones never; a throwing expiry harms no other; idle: no interval', async () => {
  const sweep = new DeadlineSweep(20);
  const start = Date.now();
  const fired: Array<[string, number]> = [];
  sweep.add(60, () => fired.push(['a', Date.now() - start]));
  const b = sweep.add(60, () => fired.push(['b', Date.now() - start]));
  sweep.add(30, () => { throw new Error('boom in an expiry'); });
  sweep.add(100, () => fired.push(['c', Date.now() - start]));
  assert.equal(sweep.running, true, 'one interval for all deadlines');
  sweep.cancel(b);
  await sleep(50);
  assert.equal(fired.length, 0, 'nothing before its time');
  await sleep(250);
  assert.deepEqual(fired.map(([k]) => k), ['a', 'c'], 'each once, the cancelled one never, after the throwing one');
  assert.ok(fired[0]![1] >= 60 && fired[1]![1] >= 100, `fired at ${JSON.stringify(fired)}`);
  assert.equal(sweep.size, 0);
  await sleep(80);
  assert.equal(sweep.running, false, 'the interval stops once nothing is pending');
  // Control: a new deadline starts it again, and it still fires.
  let late = false;
  sweep.add(10, () => { late = true; });
  assert.equal(sweep.running, true);
  await sleep(100);
  assert.equal(late, true);
});
