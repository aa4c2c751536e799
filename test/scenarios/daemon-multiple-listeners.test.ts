// One daemon on several listeners: a socket file, an abstract socket (warned about) and TCP loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir } from '../helpers/daemon.js';

test('unix, abstract and tcp listeners all serve; the abstract one is warned about', { skip: process.platform !== 'linux' && 'abstract sockets are Linux-only' }, async () => {
  const dir = tempDir();
  const name = `flyme-test-${process.pid}-${Date.now()}`;
  const d = await startDaemon(['--listen', `unix://${join(dir, 'flyme.sock')}`, '--listen', `unix://@${name}`, '--listen', 'tcp://127.0.0.1:0'], { dir });
  try {
    assert.match(d.log(), /abstract socket unix:\/\/@flyme-test-\d+-\d+ has no file permissions/);
    const viaAbstract = await runCli(['--connect', `unix://@${name}`, '--json', 'whoami']);
    assert.equal(viaAbstract.code, 0, viaAbstract.stderr);
    assert.equal(JSON.parse(viaAbstract.stdout).peer.uid, process.getuid!()); // kernel creds on abstract too
    const status = JSON.parse((await runCli(['--connect', `unix://@${name}`, '--json', 'status'])).stdout);
    const tcp = (status.listeners as string[]).find((u) => u.startsWith('tcp://'))!;
    assert.match(tcp, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(tcp, 'tcp://127.0.0.1:0');
    const viaTcp = await runCli(['--connect', tcp, '--json', 'whoami']);
    assert.equal(viaTcp.code, 0, viaTcp.stderr);
    const who = JSON.parse(viaTcp.stdout);
    assert.equal(who.peer, undefined); // TCP has no kernel peer credentials
    assert.deepEqual(who.roles, []); // so no admin role: deny by default
    const denied = await runCli(['--connect', tcp, 'status']);
    assert.equal(denied.code, 3);
  } finally {
    await d.stop();
  }
});
