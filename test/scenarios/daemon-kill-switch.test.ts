// Kill switch: other connections are closed, a subscriber gets the kill alert first, new non-admin
// connections get FLYME_LOCKED_DOWN, admins may call only status and unlock, the lockdown survives a
// restart, and unlock restores service. The kill and unlock are in the audit log with reason and caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, RawPeer, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

test('kill, lockdown across a restart, unlock', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  let d = await startDaemon(['--socket-mode', '0666'], { dir });
  const watcher = await RawPeer.open(d.socket);
  const bystander = await RawPeer.open(d.socket);
  try {
    // Control: before the kill, uid 65534 reaches the daemon (whoami is public) and root may ping.
    assert.equal((await runCli(['--connect', d.url, 'whoami'], NOBODY)).code, 0);
    assert.equal((await runCli(['--connect', d.url, 'ping'])).code, 0);
    // Only admins may kill.
    const notAdmin = await runCli(['--connect', d.url, '--json', 'kill', 'because'], NOBODY);
    assert.equal(JSON.parse(notAdmin.stderr).error.code, 'FLYME_PERMISSION_DENIED');

    watcher.send('{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topics":["kill"]}}\n');
    assert.equal((await watcher.next()).result.subscribed, true);
    const kill = await runCli(['--connect', d.url, '--json', 'kill', 'intrusion suspected']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(JSON.parse(kill.stdout).lockedDown, true);
    const pushed = await watcher.next();
    assert.equal(pushed.method, 'alert');
    assert.equal(pushed.params.kind, 'kill');
    assert.ok(await watcher.waitClosed(), 'the subscriber is closed after the kill alert');
    assert.ok(await bystander.waitClosed(), 'every other connection is closed');

    const nobody = await runCli(['--connect', d.url, '--json', 'whoami'], NOBODY);
    assert.equal(nobody.code, 3);
    assert.equal(JSON.parse(nobody.stderr).error.code, 'FLYME_LOCKED_DOWN');
    const adminPing = await runCli(['--connect', d.url, '--json', 'ping']);
    assert.equal(JSON.parse(adminPing.stderr).error.code, 'FLYME_LOCKED_DOWN');
    const st = await runCli(['--connect', d.url, '--json', 'status']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(JSON.parse(st.stdout).killSwitch.reason, 'intrusion suspected');

    // Restart: still locked down.
    await d.stop();
    d = await startDaemon(['--socket-mode', '0666'], { dir });
    assert.match(d.log(), /starting in lockdown/);
    assert.equal(JSON.parse((await runCli(['--connect', d.url, '--json', 'ping'])).stderr).error.code, 'FLYME_LOCKED_DOWN');
    assert.equal((await runCli(['--connect', d.url, 'unlock'], NOBODY)).code, 3, 'a non-admin cannot unlock');

    const unlock = await runCli(['--connect', d.url, 'unlock']);
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.equal((await runCli(['--connect', d.url, 'ping'])).code, 0);
    assert.equal((await runCli(['--connect', d.url, 'whoami'], NOBODY)).code, 0);
    await d.stop();

    const records = readFileSync(join(dir, 'audit', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const k = records.find((r) => r.kind === 'kill');
    assert.equal(k.reason, 'intrusion suspected');
    assert.equal(k.principal.peer.uid, 0);
    assert.ok(records.some((r) => r.kind === 'unlock'));
    assert.equal((await runCli(['audit-log', 'verify', join(dir, 'audit', 'audit.log')])).code, 0);
  } finally {
    watcher.destroy();
    bystander.destroy();
    await d.stop();
  }
});
