// `flyme probe` against a hardened mTLS daemon: every attack refused, exit 0. Against a weak daemon
// (no idle timeout to speak of, no useful connection limit): NOT REFUSED reported, exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, startMtlsDaemon, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

test('hardened mTLS daemon: every attack is refused', { skip: !isRoot && 'needs root to run the probe as uid 65534' }, async () => {
  const m = await startMtlsDaemon(['--idle-timeout', '2s', '--max-connections', '40', '--allow-id', 'spiffe://flyme.local/client', '--socket-mode', '0666']);
  try {
    // The probe runs unprivileged (uid 65534, its certificate holds no role) so the authorization cases run.
    const mine = join(m.dir, 'probe-certs');
    cpSync(m.certs, mine, { recursive: true });
    for (const f of ['', ...readdirSync(mine)]) chownSync(join(mine, f), NOBODY.uid, NOBODY.gid);
    const r = await runCli(['--connect', m.url, '--certs', mine, '--json', 'probe', '--slow-wait', '8s', '--flood', '80'], NOBODY);
    const out = JSON.parse(r.stdout);
    const by = Object.fromEntries(out.results.map((x: { name: string; outcome: string }) => [x.name.replace(/ \(.*/, ''), x.outcome]));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const name of ['no client certificate', 'certificate from another CA', 'expired certificate', 'SPIFFE ID not authorized', 'TLS 1.2 with a valid certificate',
      'method not granted', 'path escape in list', 'forged token', 'garbage bytes', 'oversize frame', 'slowloris', 'connection flood']) {
      assert.equal(by[name], 'refused', `${name}: ${JSON.stringify(out.results.find((x: { name: string }) => x.name.startsWith(name)))}`);
    }
    assert.equal(by['replayed token'], 'skipped');
  } finally {
    await m.d.stop();
  }
});

test('weak daemon: the probe reports what was NOT refused and exits 1', async () => {
  const dir = tempDir();
  const d = await startDaemon(['--idle-timeout', '1h', '--max-connections', '1000', '--max-connections-per-peer', '1000'], { dir });
  try {
    const r = await runCli(['--connect', d.url, 'probe', '--slow-wait', '2s', '--flood', '40']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^NOT REFUSED {2}slowloris .*still open after 2 s/m);
    assert.match(r.stdout, /^NOT REFUSED {2}connection flood \(40 connections\): all 40 held open/m);
    assert.match(r.stdout, /^refused {6}oversize frame/m, 'control: what the daemon does refuse is reported as refused');
  } finally {
    await d.stop();
  }
});
