// flymed handles SIGTERM from the moment it says "flymed ready": a supervisor (systemd, a test) that stops it as
// soon as the line appears gets a clean stop (exit 0) with its daemon_stopped audit record, every time. The stop
// handlers used to be installed just after the line was written: a SIGTERM landing in that window met Node's
// default action, and the process died with exit by signal and without the record (a CI run lost it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir } from '../helpers/daemon.js';

test('a SIGTERM sent the moment flymed says ready stops it cleanly, with its daemon_stopped record', async () => {
  const dir = tempDir();
  const log = join(dir, 'audit', 'audit.log');
  const rounds = 12;
  for (let i = 0; i < rounds; i++) {
    const d = await startDaemon(['--audit-log', log], { dir }); // resolves as soon as "flymed ready" is read
    const code = await d.stop('SIGTERM');
    assert.equal(code, 0, `round ${i}: flymed exited with ${code} (signal ${d.proc.signalCode}):\n${d.log()}`);
  }
  const kinds = readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
  // Control: every start and every stop is on record, in order.
  assert.deepEqual(kinds, Array.from({ length: rounds }, () => ['daemon_started', 'daemon_stopped']).flat());
});
