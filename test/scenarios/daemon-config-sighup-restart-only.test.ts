// SIGHUP with a changed restart-only setting (socket-mode, listen): reported as needing a restart (log and
// alert), not applied: the socket keeps its mode and no new listener appears; the live setting beside it applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/daemon.js';
import { baseConfig, sighup, startFromConfig, writeConfig } from '../helpers/config.js';

test('a restart-only setting changed in the config file is reported and the running value kept', async () => {
  const { d, dir } = await startFromConfig(['socket-mode: 0660', 'max-in-flight: 8']);
  try {
    const other = join(dir, 'other.sock');
    writeConfig(dir, [`listen: [unix://${d.socket}, unix://${other}]`, baseConfig(dir)[1]!, 'socket-mode: 0600', 'max-in-flight: 4']);
    const log = await sighup(d);
    assert.match(log, /listen changed: needs a restart \(running value kept\)/);
    assert.match(log, /socket-mode changed: needs a restart \(running value kept\)/);
    assert.match(log, /"applied":\["max-in-flight"\],"restartNeeded":\["listen","socket-mode"\]/);

    assert.equal(statSync(d.socket).mode & 0o777, 0o660, 'socket mode not changed by the reload');
    assert.equal(existsSync(other), false, 'no new listener without a restart');
    const status = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout);
    assert.equal(status.limits.maxInFlight, 4, 'control: the live setting in the same file was applied');
    const alerts = await runCli(['--connect', d.url, '--json', 'alerts']);
    assert.equal(alerts.code, 0, alerts.stderr);
    const restart = JSON.parse(alerts.stdout).alerts.find((a: { kind: string }) => a.kind === 'config_restart_needed');
    assert.ok(restart, `no config_restart_needed alert: ${alerts.stdout}`);
    assert.deepEqual(restart.details.keys, ['listen', 'socket-mode']);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
