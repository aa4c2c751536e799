// flymed --metrics: a Prometheus scrape of GET /metrics moves by exactly what was done — calls as root counted
// as ok by method, a call of uid 65534 counted as a denial (by reason, by method and outcome, and as an alert),
// each CLI run one accepted unix connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startDaemon, isRoot, NOBODY } from '../helpers/daemon.js';
import { parseExposition, type Exposition } from '../helpers/prometheus.js';

async function scrape(url: string): Promise<Exposition> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await r.text());
}

test('GET /metrics counts root\'s calls and a denied call of uid 65534 exactly', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const d = await startDaemon(['--socket-mode', '0666', '--metrics', 'tcp://127.0.0.1:0']);
  try {
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(d.log())?.[1];
    assert.ok(url, `flymed logs where it serves metrics:\n${d.log()}`);
    const before = await scrape(url);
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['--connect', d.url, 'ping', `n${i}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const denied = await runCli(['--connect', d.url, '--json', 'status'], NOBODY);
    assert.equal(denied.code, 3, denied.stderr);
    assert.equal(JSON.parse(denied.stderr).error.code, 'FLYME_PERMISSION_DENIED');
    const after = await scrape(url);
    const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
    assert.equal(moved('flyme_calls_total', { method: 'ping', outcome: 'ok' }), 3);
    assert.equal(moved('flyme_calls_total', { method: 'status', outcome: 'FLYME_PERMISSION_DENIED' }), 1);
    assert.equal(moved('flyme_calls_total', { method: 'status', outcome: 'ok' }), 0);
    assert.equal(moved('flyme_denials_total', { reason: 'FLYME_PERMISSION_DENIED' }), 1);
    assert.equal(moved('flyme_alerts_total', { kind: 'denied', severity: 'warning' }), 1);
    assert.equal(moved('flyme_connections_accepted_total', { scheme: 'unix' }), 4);
    assert.equal(after.types.get('flyme_calls_total'), 'counter');
    assert.equal(after.types.get('flyme_connections_open'), 'gauge');
    assert.equal(after.value('flyme_audit_records_dropped_total'), 0);
    // No uid, path or peer-chosen text in any label.
    const labelValues = after.samples.flatMap((s) => Object.values(s.labels));
    assert.ok(!labelValues.some((v) => /65534|^n\d$|\//.test(v)), labelValues.join(' '));
  } finally {
    await d.stop();
  }
});
