// A client in a second process calls ping/whoami/status; whoami reports the caller's real uid and pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startDaemon, runCli, FLYME } from '../helpers/daemon.js';

test('a second process calls ping, whoami and status through the real CLI', async () => {
  const d = await startDaemon();
  try {
    const ping = await runCli(['--connect', d.url, '--json', 'ping', 'hello']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(JSON.parse(ping.stdout).message, 'hello');

    const status = await runCli(['--connect', d.url, '--json', 'status']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.version, '0.1.0');
    assert.ok(s.requestsServed >= 1);
    assert.deepEqual(s.listeners, [d.url]);

    // whoami: the pid the daemon reports must be the CLI process's own pid.
    const child = spawn(process.execPath, [FLYME, '--connect', d.url, '--json', 'whoami'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0);
    const who = JSON.parse(out);
    assert.equal(who.peer.uid, process.getuid!());
    assert.equal(who.peer.gid, process.getgid!());
    assert.equal(who.peer.pid, child.pid);
    assert.equal(who.peer.exe, process.execPath);
  } finally {
    assert.equal(await d.stop(), 0);
  }
});

test('FLYME_CONNECT sets the default address', async () => {
  const d = await startDaemon();
  try {
    const r = await runCli(['ping', 'env'], { env: { ...process.env, FLYME_CONNECT: d.url } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^env /);
  } finally {
    await d.stop();
  }
});
