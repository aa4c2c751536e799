// `flyme status --prometheus` prints the daemon's metrics in the text format, the same metric families as
// GET /metrics; it needs the status permission (uid 65534 is denied, root is served).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startDaemon, isRoot, NOBODY } from '../helpers/daemon.js';
import { parseExposition } from '../helpers/prometheus.js';

test('flyme status --prometheus: parseable, the same metric names as the scrape endpoint, status permission', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const d = await startDaemon(['--socket-mode', '0666', '--metrics', 'tcp://127.0.0.1:0']);
  try {
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(d.log())?.[1];
    assert.ok(url, d.log());
    assert.equal((await runCli(['--connect', d.url, 'ping'])).code, 0);
    const r = await runCli(['--connect', d.url, 'status', '--prometheus']);
    assert.equal(r.code, 0, r.stderr);
    const viaCli = parseExposition(r.stdout);
    assert.ok(viaCli.value('flyme_calls_total', { method: 'ping', outcome: 'ok' }) >= 1);
    const viaHttp = parseExposition(await (await fetch(url)).text());
    assert.deepEqual([...viaCli.types.keys()].sort(), [...viaHttp.types.keys()].sort());
    assert.ok(viaCli.types.has('flyme_calls_total') && viaCli.types.has('process_cpu_user_seconds_total'));
    const json = await runCli(['--connect', d.url, '--json', 'status', '--prometheus']);
    assert.equal(json.code, 0, json.stderr);
    const j = JSON.parse(json.stdout);
    assert.equal(j.format, 'prometheus');
    assert.equal(j.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    parseExposition(j.text);
    const nobody = await runCli(['--connect', d.url, '--json', 'status', '--prometheus'], NOBODY);
    assert.equal(nobody.code, 3, nobody.stdout + nobody.stderr);
    assert.equal(JSON.parse(nobody.stderr).error.code, 'FLYME_PERMISSION_DENIED');
    assert.equal(nobody.stdout, '');
  } finally {
    await d.stop();
  }
});
