// A workload running as uid 1000 gets its X.509-SVID from `flyme agent` over the Workload API socket and uses
// it to call flymed over mTLS (flymed's own SVID comes from the same agent); a workload of uid 1001, which no
// entry matches, gets nothing and cannot reach flymed over mTLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, runCli, startDaemon, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent } from '../helpers/agent.js';

const PARENT = 'spiffe://example.org/agent/local';

test('uid 1000 calls flymed with the SVID the agent gave it; uid 1001 has no identity', { skip: !isRoot && 'needs root (other uids)', timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-mtls-');
  const agent = await startAgent(dir);
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/flymed', PARENT, ['unix:uid:0', `unix:path:${realpathSync(process.execPath)}`]);
    await createEntry(agent.caSocket, 'spiffe://example.org/app', PARENT, ['unix:uid:1000']);
    const url = `unix+tls://${join(dir, 'flyme.sock')}`;
    daemon = await startDaemon(['--listen', url, '--socket-mode', '0666', '--spiffe-socket', agent.url, '--spiffe-id', 'spiffe://example.org/flymed'], { dir });

    const asApp = await runCli(['--json', '--connect', url, '--spiffe-socket', agent.url, 'whoami'], { uid: 1000, gid: 1000 });
    assert.equal(asApp.code, 0, asApp.stderr);
    const who = JSON.parse(asApp.stdout) as { cert: { spiffeId: string }; peer: { uid: number } };
    assert.equal(who.cert.spiffeId, 'spiffe://example.org/app');
    assert.equal(who.peer.uid, 1000, 'flymed sees both the kernel identity and the certificate');

    const fetch = await runCli(['spiffe', 'fetch', '--socket', agent.url], { uid: 1000, gid: 1000 });
    assert.equal(fetch.code, 0, fetch.stderr);
    assert.match(fetch.stdout, /spiffe:\/\/example\.org\/app/);
    assert.doesNotMatch(fetch.stdout, /example\.org\/flymed/, 'uid 1000 does not get the daemon\'s identity');

    const stranger = await runCli(['spiffe', 'fetch', '--socket', agent.url], { uid: 1001, gid: 1001 });
    assert.equal(stranger.code, 3, `${stranger.stdout}${stranger.stderr}`);
    assert.match(stranger.stderr, /no identity issued/);
    const strangerCall = await runCli(['--connect', url, '--spiffe-socket', agent.url, 'whoami'], { uid: 1001, gid: 1001 });
    assert.equal(strangerCall.code, 3, strangerCall.stderr);
  } finally {
    await daemon?.stop();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
