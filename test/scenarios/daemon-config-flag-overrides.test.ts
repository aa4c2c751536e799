// flymed --config with flags: a flag on the command line wins over the same key in the file; the file's other keys still apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, tempDir } from '../helpers/daemon.js';
import { baseConfig, writeConfig } from '../helpers/config.js';

test('command-line flags override the config file', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, [...baseConfig(dir), 'socket-mode: 0600', 'max-connections: 7']);
  const other = join(dir, 'other.sock');
  const d = await startDaemon(['--config', config, '--listen', `unix://${other}`, '--socket-mode', '0660'], { dir, bare: true });
  try {
    assert.equal(existsSync(join(dir, 'flyme.sock')), false, "the file's listen address is not used");
    assert.equal(statSync(other).mode & 0o777, 0o660, '--socket-mode wins over the file');
    const status = await runCli(['--connect', `unix://${other}`, '--json', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).limits.maxConnections, 7, 'keys not given as flags still come from the file');
    assert.ok(existsSync(join(dir, 'audit', 'audit.log')), "the file's audit-log");
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
