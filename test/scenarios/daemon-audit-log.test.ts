// flymed's signed audit log: a denied call by another uid and an allowed privileged call are recorded;
// `flyme audit-log verify` says OK, then finds an edited record; the chain continues across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

test('denials and privileged calls are audited; verify detects an edit', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const log = join(dir, 'audit', 'audit.log');
  let d = await startDaemon(['--socket-mode', '0666', '--audit-log', log], { dir });
  try {
    assert.equal((await runCli(['--connect', d.url, 'status'], NOBODY)).code, 3);
    assert.equal((await runCli(['--connect', d.url, 'list', dir])).code, 0);
    const st = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout);
    assert.equal(st.audit.file, log);
    await d.stop();

    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.kind), ['daemon_started', 'denied', 'privileged_call', 'daemon_stopped']);
    assert.equal(records[1].principal.peer.uid, 65534);
    assert.equal(records[1].subject, 'status');
    assert.equal(records[1].reason, 'FLYME_PERMISSION_DENIED');
    assert.equal(records[2].subject, 'list');

    // Restart: the chain continues (seq 5 follows seq 4) and still verifies.
    d = await startDaemon(['--audit-log', log], { dir });
    await d.stop();
    const ok = await runCli(['audit-log', 'verify', log]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^OK: 6 records in 1 file\(s\), seq 1\.\.6/);
    const tail = await runCli(['audit-log', 'tail', '-n', '2', log]);
    assert.match(tail.stdout, /^5 .* daemon_started/m);

    // Attack: turn the denial into an allow.
    writeFileSync(log, readFileSync(log, 'utf8').replace('"decision":"deny"', '"decision":"allow"'));
    const bad = await runCli(['audit-log', 'verify', log]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^BAD: .*audit\.log:2 .*bad signature/);
  } finally {
    await d.stop();
  }
});
