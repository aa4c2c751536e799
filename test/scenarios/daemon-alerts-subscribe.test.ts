// A denied call by another uid shows up in `flyme alerts` and is pushed to a live subscriber; a
// subscriber that never reads is dropped while a reading one keeps receiving and the daemon answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, RawPeer, FLYME, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('alerts and subscribe; a slow subscriber is dropped', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const policy = join(dir, 'policy.yaml');
  // root may watch but not ping: every ping by root is a denial, a cheap way to raise many alerts.
  writeFileSync(policy, 'roles:\n  watcher: { methods: [subscribe, alerts, status] }\nbindings:\n  - { uid: 0, roles: [watcher] }\n');
  // Every denial one by one (no per-principal coalescing), so that one test principal can outrun a subscriber.
  const d = await startDaemon(['--socket-mode', '0666', '--policy', policy, '--subscriber-backlog', '16KiB', '--coalesce-events', '0ms'], { dir });
  const sub = spawn(process.execPath, [FLYME, '--connect', d.url, '--json', 'subscribe', '--topics', 'denied'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let pushed = '';
  let subErr = '';
  sub.stdout!.on('data', (b: Buffer) => { pushed += b.toString(); });
  sub.stderr!.on('data', (b: Buffer) => { subErr += b.toString(); });
  const slow = await RawPeer.open(d.socket);
  const flood = await RawPeer.open(d.socket);
  try {
    for (let i = 0; i < 200 && !subErr.includes('subscribed'); i++) await sleep(50);
    assert.match(subErr, /subscribed to denied/);
    slow.send('{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{}}\n');
    assert.deepEqual((await slow.next()).result, { subscribed: true, topics: [] });
    slow.socket.pause(); // from now on it reads nothing

    // Control: no alert yet. Then a denial by uid 65534 is listed and pushed.
    assert.equal(pushed, '');
    assert.equal((await runCli(['--connect', d.url, 'status'], NOBODY)).code, 3);
    for (let i = 0; i < 100 && !pushed.includes('\n'); i++) await sleep(50);
    const alert = JSON.parse(pushed.split('\n')[0]!);
    assert.equal(alert.kind, 'denied');
    assert.equal(alert.principal.peer.uid, 65534);
    assert.equal(alert.subject, 'status');
    const list = JSON.parse((await runCli(['--connect', d.url, '--json', 'alerts', '-n', '5'])).stdout);
    assert.equal(list.alerts[0].kind, 'denied');
    assert.equal(list.counts.byKind.denied, 1);

    // Flood: thousands of denials; the non-reading subscriber falls behind and is dropped.
    for (let round = 0; round < 20; round++) {
      let batch = '';
      for (let i = 0; i < 250; i++) batch += `{"jsonrpc":"2.0","id":${round * 1000 + i},"method":"ping","params":{}}\n`;
      flood.send(batch);
      for (let i = 0; i < 250; i++) await flood.next();
      const st = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout);
      if (st.alerts.droppedSubscribers > 0) break;
    }
    const st = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout);
    assert.equal(st.alerts.droppedSubscribers, 1, 'the slow subscriber was dropped');
    assert.equal(st.alerts.subscribers, 1, 'the reading subscriber is still subscribed');
    for (let i = 0; i < 100 && pushed.split('\n').length < 200; i++) await sleep(50);
    assert.ok(pushed.split('\n').length >= 200, 'the reading subscriber kept receiving');
    slow.socket.resume();
    assert.ok(await slow.waitClosed(5000), 'the slow subscriber connection is closed');
    assert.equal((await runCli(['--connect', d.url, '--json', 'alerts', '-n', '1'])).code, 0, 'the daemon still answers');
  } finally {
    slow.destroy();
    flood.destroy();
    sub.kill();
    await d.stop();
  }
});
