// A live daemon's socket cannot be taken; a stale socket is replaced; a regular file is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir } from '../helpers/daemon.js';

test('a second daemon cannot take a live socket', async () => {
  const d = await startDaemon();
  try {
    // Its own audit log, so that the socket (not the audit log's one-writer lock) is what refuses it.
    const second = await startDaemon(['--audit-log', join(d.dir, 'audit2', 'audit.log')], { dir: d.dir, wait: false });
    assert.equal(await second.exited, 1);
    assert.match(second.log(), /already listening/);
    const r = await runCli(['--connect', d.url, 'ping']);
    assert.equal(r.code, 0, r.stderr); // the first daemon still owns its socket
  } finally {
    await d.stop();
  }
});

test('a stale socket (daemon killed) is replaced', async () => {
  const dir = tempDir();
  try {
    const crashed = await startDaemon([], { dir });
    await crashed.stop('SIGKILL');
    assert.equal(existsSync(join(dir, 'flyme.sock')), true);
    const d = await startDaemon([], { dir });
    const r = await runCli(['--connect', d.url, 'ping']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await d.stop(), 0);
    assert.equal(existsSync(join(dir, 'flyme.sock')), false); // removed on clean shutdown
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a regular file at the socket path is left alone with an error', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'flyme.sock'), 'precious');
    const d = await startDaemon([], { dir, wait: false });
    assert.equal(await d.exited, 1);
    assert.match(d.log(), /not a socket; refusing to remove it/);
    assert.equal(readFileSync(join(dir, 'flyme.sock'), 'utf8'), 'precious');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI says what to do when the socket is missing', async () => {
  const r = await runCli(['--connect', 'unix:///nonexistent/flyme.sock', 'ping']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /is flymed running\? expected at unix:\/\/\/nonexistent\/flyme.sock/);
});
