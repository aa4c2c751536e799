// flymed --metrics refuses a non-loopback address at startup (metrics have no authentication) unless
// --metrics-allow-remote; control: a loopback address starts and serves GET /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../helpers/daemon.js';

test('flymed --metrics tcp://0.0.0.0:PORT is refused at startup', async () => {
  const d = await startDaemon(['--metrics', 'tcp://0.0.0.0:0'], { wait: false });
  const code = await Promise.race([d.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000))]);
  try {
    assert.notEqual(code, 'running', 'flymed must not start with metrics on 0.0.0.0');
    assert.equal(code, 1);
    assert.match(d.log(), /invalid --metrics address "tcp:\/\/0\.0\.0\.0:0": 0\.0\.0\.0 is not a loopback address/);
    assert.match(d.log(), /--metrics-allow-remote/);
    assert.doesNotMatch(d.log(), /flymed ready|metrics_listening/);
  } finally {
    await d.stop('SIGKILL');
  }
});

test('control: flymed --metrics tcp://127.0.0.1:PORT starts and serves GET /metrics', async () => {
  const d = await startDaemon(['--metrics', 'tcp://127.0.0.1:0']);
  try {
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(d.log())?.[1];
    assert.ok(url, d.log());
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^flyme_build_info\{version="[^"]+"\} 1$/m);
  } finally {
    await d.stop();
  }
});
