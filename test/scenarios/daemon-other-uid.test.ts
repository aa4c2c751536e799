// Another uid: refused by the kernel on a 0660 root-owned socket; on 0666 identified as 65534,
// denied status, allowed whoami (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { startDaemon, runCli, isRoot, NOBODY } from '../helpers/daemon.js';

test('uid 65534 cannot open a 0660 root-owned socket (kernel EACCES)', { skip: !isRoot && 'needs root' }, async () => {
  const d = await startDaemon();
  try {
    assert.equal(statSync(d.socket).mode & 0o777, 0o660);
    const r = await runCli(['--connect', d.url, 'ping'], NOBODY);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /permission denied on socket/);
    const control = await runCli(['--connect', d.url, 'ping']);
    assert.equal(control.code, 0, control.stderr);
  } finally {
    await d.stop();
  }
});

test('on a 0666 socket uid 65534 is identified, denied status, allowed whoami', { skip: !isRoot && 'needs root' }, async () => {
  const d = await startDaemon(['--socket-mode', '0666']);
  try {
    const who = await runCli(['--connect', d.url, '--json', 'whoami'], NOBODY);
    assert.equal(who.code, 0, who.stderr);
    const w = JSON.parse(who.stdout);
    assert.equal(w.peer.uid, 65534);
    assert.equal(w.peer.gid, 65534);
    assert.deepEqual(w.roles, []);

    const st = await runCli(['--connect', d.url, '--json', 'status'], NOBODY);
    assert.equal(st.code, 3);
    const err = JSON.parse(st.stderr).error;
    assert.equal(err.code, 'FLYME_PERMISSION_DENIED');
    assert.equal(err.permission, 'status');

    const control = await runCli(['--connect', d.url, '--json', 'status']);
    assert.equal(control.code, 0, control.stderr);
  } finally {
    await d.stop();
  }
});
