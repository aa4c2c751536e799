// flymed refuses a plain tcp:// listener beyond loopback (its peers would have no identity at all), and
// says to use tls://; tcp://127.0.0.1 still serves (whoami only, no roles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, runCli } from '../helpers/daemon.js';

test('flymed --listen tcp://0.0.0.0:PORT is refused at startup', async () => {
  const d = await startDaemon(['--listen', 'tcp://0.0.0.0:0'], { wait: false });
  const code = await Promise.race([d.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000))]);
  try {
    assert.notEqual(code, 'running', 'flymed must not serve tcp://0.0.0.0');
    assert.equal(code, 1);
    assert.match(d.log(), /refusing to listen on tcp:\/\/0\.0\.0\.0:0: plain tcp:\/\/ gives peers no identity/);
    assert.match(d.log(), /use tls:\/\/0\.0\.0\.0:0 \(mutual TLS\)/);
    assert.doesNotMatch(d.log(), /flymed ready/);
  } finally {
    await d.stop('SIGKILL');
  }
});

test('control: flymed --listen tcp://127.0.0.1:PORT serves whoami', async () => {
  const d = await startDaemon(['--listen', 'tcp://127.0.0.1:0']);
  try {
    const url = /"listeners":\["(tcp:\/\/127\.0\.0\.1:\d+)"\]/.exec(d.log())?.[1];
    assert.ok(url, d.log());
    const who = await runCli(['--connect', url, '--json', 'whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout).roles, []);
  } finally {
    await d.stop();
  }
});
