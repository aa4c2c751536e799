// Rotation reaches live parties: an open FetchX509SVID stream is pushed a new SVID at half the old one's life,
// and an mTLS connection to flymed that was made with the old SVID is closed when that SVID expires, while a
// new connection made through the following source (the rotated SVID) works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/client.js';
import { StaticX509Source } from '../../src/identity/index.js';
import { WorkloadApiClient, workloadX509Source } from '../../src/spiffe/index.js';
import { materialFromResponse, type WireX509Response } from '../../src/spiffe/client.js';
import { isRoot, startDaemon, tempDir } from '../helpers/daemon.js';
import { createEntry, startAgent } from '../helpers/agent.js';

const PARENT = 'spiffe://example.org/agent/local';
const APP = 'spiffe://example.org/app';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a 10 s SVID rotates on the open stream; the connection made with the old one is closed at its expiry', { skip: !isRoot && 'needs root', timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-agent-rot-');
  const agent = await startAgent(dir);
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  const client = new WorkloadApiClient(agent.url);
  let stopStream = () => {};
  try {
    await createEntry(agent.caSocket, 'spiffe://example.org/flymed', PARENT, ['unix:uid:0', `unix:path:${realpathSync(process.execPath)}`]);
    await createEntry(agent.caSocket, APP, PARENT, ['unix:uid:0'], ['--ttl', '10s']);
    const url = `unix+tls://${join(dir, 'flyme.sock')}`;
    daemon = await startDaemon(['--listen', url, '--spiffe-socket', agent.url, '--spiffe-id', 'spiffe://example.org/flymed'], { dir });

    const appSerials: string[] = [];
    const responses: WireX509Response[] = [];
    stopStream = client.watchX509((r) => {
      responses.push(r);
      void materialFromResponse(r).then((m) => {
        const s = m.svids.find((x) => x.spiffeId.toString() === APP);
        const serial = s?.chain[0]!.serialNumber.toLowerCase();
        if (serial && appSerials.at(-1) !== serial) appSerials.push(serial);
      });
    }, () => undefined);
    for (const end = Date.now() + 10_000; appSerials.length === 0 && Date.now() < end;) await sleep(50);
    assert.equal(appSerials.length, 1, 'the first response carries the app SVID');

    // A connection made with the first SVID, on a source that does not follow rotation.
    const first = await materialFromResponse(responses.at(-1)!);
    const frozen = await StaticX509Source.create({ ...first, svids: first.svids.filter((s) => s.spiffeId.toString() === APP) });
    const oldConn = await connect(url, { x509Source: frozen, serverId: 'spiffe://example.org/flymed', callTimeoutMs: 3000 });
    assert.equal((await oldConn.call<{ cert: { spiffeId: string } }>('whoami')).cert.spiffeId, APP);
    const expiresAt = frozen.svid().chain[0]!.notAfter.getTime();

    for (const end = Date.now() + 12_000; appSerials.length < 2 && Date.now() < end;) await sleep(100);
    assert.equal(appSerials.length >= 2, true, 'a rotated SVID was pushed on the same stream');
    assert.ok(Date.now() < expiresAt, 'the new SVID arrived before the old one expired');

    while (!oldConn.closed && Date.now() < expiresAt + 4000) await sleep(50);
    assert.equal(oldConn.closed, true, 'the connection whose peer certificate expired was closed');
    assert.equal(oldConn.closeReason?.code, 'FLYME_CERT_EXPIRED');

    // Control: the following source holds the rotated SVID and connects fine after the old one expired.
    const live = await workloadX509Source({ address: agent.url, spiffeId: APP });
    try {
      const c = await connect(url, { x509Source: live, serverId: 'spiffe://example.org/flymed', callTimeoutMs: 3000 });
      const who = await c.call<{ cert: { spiffeId: string; serial: string } }>('whoami');
      assert.equal(who.cert.spiffeId, APP);
      assert.notEqual(who.cert.serial, appSerials[0]);
      await c.close();
    } finally {
      live.close();
    }
  } finally {
    stopStream();
    client.close();
    await daemon?.stop();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
