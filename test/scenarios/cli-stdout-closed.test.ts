// Long-running commands whose stdout reader goes away: `flyme subscribe | head -1` must end quietly (exit 0, no
// "Unhandled 'error' event" EPIPE stack trace), and `flyme agent` started with a closed stdout must keep serving
// the Workload API (before the fix both died of the unhandled EPIPE on process.stdout). Control: the subscriber
// printed the first alert, and the agent answers a caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, RawPeer, runCli, startDaemon, tempDir } from '../helpers/daemon.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CRASH = /Unhandled|EPIPE|^\s+at .+:\d+:\d+\)?$/im;

test('flyme subscribe ends quietly when its reader goes away', { timeout: 60_000 }, async () => {
  const d = await startDaemon(['--max-connections', '2']);
  const sub = spawn(process.execPath, [FLYME, '--connect', d.url, '--json', 'subscribe'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  sub.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  sub.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((r) => sub.once('exit', (code) => r(code)));
  const peers: RawPeer[] = [];
  try {
    for (let i = 0; i < 100 && !err.includes('subscribed'); i++) await sleep(50);
    assert.match(err, /subscribed to all alerts/);
    // The limit is full (subscriber + one peer): each further connection is refused, which raises an alert.
    peers.push(await RawPeer.open(d.socket));
    const refuse = async () => { const p = await RawPeer.open(d.socket); peers.push(p); await p.waitClosed(1000); };
    await refuse();
    for (let i = 0; i < 100 && !out.includes('\n'); i++) await sleep(50);
    assert.equal(JSON.parse(out.split('\n')[0]!).kind, 'connection_refused', 'control: the first alert was printed');

    sub.stdout!.destroy(); // the reader goes away, like `head -1` after its line
    for (let i = 0; i < 20 && sub.exitCode === null; i++) { await refuse(); await sleep(50); }
    assert.equal(await exited, 0, `flyme subscribe exit code; stderr:\n${err}`);
    assert.doesNotMatch(err, CRASH, 'no crash report');
    assert.equal(d.proc.exitCode, null, 'flymed still runs');
  } finally {
    for (const p of peers) p.destroy();
    if (sub.exitCode === null) sub.kill('SIGKILL');
    await d.stop();
  }
});

test('flyme agent keeps serving when its stdout is closed', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-stdout-');
  const sock = join(dir, 'agent.sock');
  const agent = spawn(process.execPath, [FLYME, 'agent', '--ca', 'local', '--trust-domain', 'example.org', '--ca-socket', `unix://${join(dir, 'ca.sock')}`,
    '--data-dir', join(dir, 'agent-data'), '--socket', `unix://${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.destroy(); // nobody will read the SPIFFE_ENDPOINT_SOCKET line
  let log = '';
  agent.stderr!.on('data', (b: Buffer) => { log += b.toString(); });
  const exited = new Promise<void>((r) => agent.once('exit', () => r()));
  try {
    for (let i = 0; i < 300 && !log.includes('flyme agent ready') && agent.exitCode === null; i++) await sleep(50);
    assert.match(log, /flyme agent ready/);
    const fetch = await runCli(['spiffe', 'fetch', '--socket', `unix://${sock}`]);
    assert.equal(fetch.code, 3, `the agent answers (no identity for this caller): ${fetch.stderr}`);
    assert.match(fetch.stderr, /no identity issued/);
    assert.equal(agent.exitCode, null, `the agent still runs:\n${log}`);
    assert.doesNotMatch(log, CRASH, 'no crash report');
  } finally {
    if (agent.exitCode === null) agent.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
