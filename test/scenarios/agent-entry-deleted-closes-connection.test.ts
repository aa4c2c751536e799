// Deleting a registration entry reaches live connections: the CA revokes the entry's SVIDs, the revocation
// list travels CA → agent → flymed (which takes its identity from the same Workload API), and flymed closes
// the open mTLS connection of that identity within a few seconds. A connection of another identity stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/client.js';
import { workloadX509Source } from '../../src/spiffe/index.js';
import { isRoot, runCli, startDaemon, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent } from '../helpers/agent.js';

const PARENT = 'spiffe://example.org/agent/local';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an entry deleted at the CA closes the live flymed connection of its SVID within 5 s; another identity keeps its connection', { skip: !isRoot && 'needs root', timeout: 60_000 }, async (t) => {
  const dir = tempDir('flyme-agent-del-');
  const agent = await startAgent(dir);
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/flymed', PARENT, ['unix:uid:0', `unix:path:${realpathSync(process.execPath)}`]);
    const doomedId = await createEntry(agent.caSocket, 'spiffe://example.org/doomed', PARENT, ['unix:uid:0']);
    await createEntry(agent.caSocket, 'spiffe://example.org/kept', PARENT, ['unix:uid:0']);
    const url = `unix+tls://${join(dir, 'flyme.sock')}`;
    daemon = await startDaemon(['--listen', url, '--spiffe-socket', agent.url, '--spiffe-id', 'spiffe://example.org/flymed'], { dir });
    const dial = async (id: string) => {
      const source = await workloadX509Source({ address: agent.url, spiffeId: id });
      try {
        return await connect(url, { x509Source: source, serverId: 'spiffe://example.org/flymed', callTimeoutMs: 3000 });
      } finally {
        source.close();
      }
    };
    const doomed = await dial('spiffe://example.org/doomed');
    const kept = await dial('spiffe://example.org/kept');
    assert.equal((await doomed.call<{ cert: { spiffeId: string } }>('whoami')).cert.spiffeId, 'spiffe://example.org/doomed', 'control before the deletion');

    const del = await runCli(['ca', 'entry', 'delete', doomedId, '--ca-socket', agent.caSocket]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /1 SVID\(s\) revoked/);
    const deletedAt = Date.now();
    while (!doomed.closed && Date.now() - deletedAt < 8000) await sleep(50);
    assert.equal(doomed.closed, true, 'the connection of the deleted identity was closed');
    const lag = Date.now() - deletedAt;
    assert.ok(lag <= 5000, `closed ${lag} ms after the deletion`);
    t.diagnostic(`connection closed ${lag} ms after the entry was deleted`);
    assert.equal(doomed.closeReason?.code, 'FLYME_UNTRUSTED_CERTIFICATE', doomed.closeReason?.message);
    assert.equal((await kept.call<{ cert: { spiffeId: string } }>('whoami')).cert.spiffeId, 'spiffe://example.org/kept', 'another identity keeps its connection');
    await kept.close();
    assert.match(readFileSync(join(dir, 'audit', 'audit.log'), 'utf8'), /"kind":"peer_invalidated".*revoked/);
  } finally {
    await daemon?.stop();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
