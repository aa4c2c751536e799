// A peer pipelining thousands of `authenticate` notifications (no id, so no answer) cannot grow the audit log
// or the alert ring one record per notification: notifications count against the in-flight limit like
// requests, and refusals are coalesced per principal (one record, then one summary carrying the count).
// Control: the same connection's next request is served, and the audit chain still verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, RawPeer } from '../helpers/daemon.js';

const FLOOD = 5000;

test('a notification flood leaves a bounded, counted trace', async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const d = await startDaemon(['--jwks', join(keys, 'jwks.json'), '--token-issuer', 'ci-issuer'], { dir });
  const peer = await RawPeer.open(d.socket);
  try {
    const bogus = JSON.stringify({ jsonrpc: '2.0', method: 'authenticate', params: { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' } }) + '\n';
    peer.send(bogus.repeat(FLOOD));
    // Notifications hold in-flight slots like requests: a request may meet FLYME_TOO_MANY_REQUESTS while they
    // run, and is served once they are done.
    let pong: Record<string, any> = {};
    let tooMany = 0;
    for (let id = 1; id < 200 && !pong.result; id++) {
      peer.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: {} }) + '\n');
      pong = await peer.next(15_000);
      assert.equal(pong.id, id);
      if (pong.error) {
        assert.equal(pong.error.data.code, 'FLYME_TOO_MANY_REQUESTS', JSON.stringify(pong));
        tooMany++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(pong.result, `the control request was served after ${tooMany} refusals`);
    await new Promise((r) => setTimeout(r, 1500)); // the coalescing window ends and its summary is written

    const alerts = JSON.parse((await runCli(['--connect', d.url, '--json', 'alerts', '--limit', '1000'])).stdout).alerts as Array<{ kind: string; details?: { count?: number } }>;
    const refused = alerts.filter((a) => a.kind === 'token_refused');
    assert.ok(refused.length <= 10, `${refused.length} token_refused alerts for one principal's flood`);
    const counted = refused.reduce((n, a) => n + (a.details?.count ?? 1), 0);
    assert.ok(counted >= 1 && counted <= FLOOD, `counted ${counted}`);

    // The audit log: a handful of token_refused records, not thousands, and the chain verifies.
    const audit = join(dir, 'audit', 'audit.log');
    const records = readFileSync(audit, 'utf8').split('\n').filter((l) => l.includes('"token_refused"'));
    assert.ok(records.length >= 1 && records.length <= 10, `${records.length} token_refused audit records`);
    const verify = await runCli(['audit-log', 'verify', audit]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    peer.destroy();
    await d.stop();
  }
});
