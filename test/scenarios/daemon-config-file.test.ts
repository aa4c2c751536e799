// flymed --config: started from a YAML file alone, it serves on the socket the file names, with the file's settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { runCli } from '../helpers/daemon.js';
import { startFromConfig } from '../helpers/config.js';

test('flymed --config FILE serves on the configured socket with the configured settings', async () => {
  const { d, dir } = await startFromConfig(['max-connections: 7', 'socket-mode: 0600', 'idle-timeout: 1m30s', 'max-frame: 64KiB']);
  try {
    const ping = await runCli(['--connect', d.url, 'ping', 'from-config']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /from-config/);
    assert.equal(statSync(d.socket).mode & 0o777, 0o600, 'socket-mode 0600 from the file (octal text, as the flag takes it)');
    const status = await runCli(['--connect', d.url, '--json', 'status']);
    assert.equal(status.code, 0, status.stderr);
    const limits = JSON.parse(status.stdout).limits;
    assert.equal(limits.maxConnections, 7);
    assert.equal(limits.idleTimeoutMs, 90_000);
    assert.equal(limits.maxFrameBytes, 64 * 1024);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
