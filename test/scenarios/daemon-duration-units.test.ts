// A bare number is not a duration: `flymed --idle-timeout 30` (which closed connections after 30 ms) is
// refused at startup with a message naming the units; `--idle-timeout 30s` starts and keeps a quiet peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, RawPeer } from '../helpers/daemon.js';

test('flymed --idle-timeout 30 is refused, naming the units', async () => {
  const d = await startDaemon(['--idle-timeout', '30'], { wait: false });
  const code = await Promise.race([d.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000))]);
  try {
    assert.notEqual(code, 'running', 'flymed must not start with a bare number');
    assert.notEqual(code, 0);
    assert.match(d.log(), /--idle-timeout/);
    assert.match(d.log(), /a bare number has no unit; write 30ms, 30s, 30m, 30h or 30d/);
  } finally {
    await d.stop('SIGKILL');
  }
});

test('flymed --idle-timeout 30s starts, and a quiet connection is still open after 300 ms', async () => {
  const d = await startDaemon(['--idle-timeout', '30s']);
  try {
    const p = await RawPeer.open(d.socket);
    await new Promise((r) => setTimeout(r, 300)); // ten times what the bare number used to mean
    assert.equal(p.closed, false);
    p.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"still here"}}\n');
    assert.equal((await p.next()).result.message, 'still here');
    p.destroy();
  } finally {
    await d.stop();
  }
});
