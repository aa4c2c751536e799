// A live mTLS connection whose client certificate expires is closed by flymed within about a second of the
// expiry, with a last FLYME_CERT_EXPIRED error line, a peer_invalidated audit record and a log line; a client
// with a valid certificate keeps its connection (the control). Uses the public client: connect(url, { certs }).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/client.js';
import { issueSvidWithKey, loadCA } from '../../src/identity/index.js';
import { runCli, startMtlsDaemon } from '../helpers/daemon.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('flymed closes a connection whose client certificate expired; a valid client keeps its connection', async () => {
  const { d, dir, certs, url } = await startMtlsDaemon();
  const short = join(dir, 'short');
  mkdirSync(short);
  copyFileSync(join(certs, 'root-ca.pem'), join(short, 'root-ca.pem'));
  const expiresAt = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
  const svid = await issueSvidWithKey(await loadCA(certs), { spiffeId: 'spiffe://flyme.local/short', notAfter: expiresAt });
  writeFileSync(join(short, 'client.pem'), svid.chainPem);
  writeFileSync(join(short, 'client.key.pem'), svid.keyPem, { mode: 0o600 });
  const doomed = await connect(url, { certs: short, callTimeoutMs: 3000 });
  const control = await connect(url, { certs, callTimeoutMs: 3000 });
  try {
    const who = await doomed.call<{ cert: { spiffeId: string } }>('whoami');
    assert.equal(who.cert.spiffeId, 'spiffe://flyme.local/short', 'the short-lived certificate works before it expires');
    while (!doomed.closed && Date.now() < expiresAt.getTime() + 5000) await sleep(50);
    assert.equal(doomed.closed, true, 'the connection was closed');
    const lag = Date.now() - expiresAt.getTime();
    assert.ok(lag < 2500, `closed ${lag} ms after the certificate expired`);
    assert.equal(doomed.closeReason?.code, 'FLYME_CERT_EXPIRED', doomed.closeReason?.message);
    assert.equal((await control.call<{ message: string }>('ping', { message: 'still here' })).message, 'still here');
    assert.match(d.log(), /peer_invalidated/);
    const audit = readFileSync(join(dir, 'audit', 'audit.log'), 'utf8');
    assert.match(audit, /"kind":"peer_invalidated".*spiffe:\/\/flyme\.local\/short/);
    // Without an identity a TLS URL is a clear configuration error, not a plain-text attempt.
    await assert.rejects(connect(url), (e: { code?: string }) => e.code === 'FLYME_INVALID_CONFIG');
    const r = await runCli(['--connect', url, '--certs', short, 'ping', 'x']);
    assert.notEqual(r.code, 0, 'the CLI with the expired certificate is refused');
  } finally {
    await control.close();
    await d.stop();
  }
});
