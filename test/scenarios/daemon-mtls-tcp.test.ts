// tls://127.0.0.1:PORT: mutual TLS over TCP loopback. The client's certificate identity is the only
// identity (no kernel credentials on TCP); a client without a FlyMe certificate is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FLYME, runCli, startMtlsDaemon } from '../helpers/daemon.js';

test('mTLS over TCP loopback: FlyMe client served with its SPIFFE ID, --admin-id grants admin', async () => {
  const m = await startMtlsDaemon(['--listen', 'tls://127.0.0.1:0', '--admin-id', 'spiffe://flyme.local/client']);
  try {
    const st = await runCli(['--connect', m.url, '--certs', m.certs, '--json', 'status']);
    assert.equal(st.code, 0, st.stderr);
    const tcp = (JSON.parse(st.stdout).listeners as string[]).find((u) => u.startsWith('tls://'))!;
    assert.match(tcp, /^tls:\/\/127\.0\.0\.1:\d+$/);

    const who = await runCli(['--connect', tcp, '--certs', m.certs, '--json', 'whoami']);
    assert.equal(who.code, 0, who.stderr);
    const w = JSON.parse(who.stdout);
    assert.equal(w.peer, undefined);
    assert.equal(w.cert.spiffeId, 'spiffe://flyme.local/client');
    assert.deepEqual(w.roles, ['admin']);
    assert.equal(w.roleSources.admin, 'spiffe-id:spiffe://flyme.local/client');

    const status = await runCli(['--connect', tcp, '--certs', m.certs, 'status']);
    assert.equal(status.code, 0, status.stderr);

    // After its control (the real client certificate), the fake client's four attempts (no cert, self-signed
    // leaf, other CA, plain JSON-RPC) over TCP are all refused.
    const fake = spawnSync(process.execPath, [join(FLYME, '../fake-client.js'), '--connect', tcp, '--certs', m.certs], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(fake.status, 0, fake.stdout + fake.stderr);
    assert.match(fake.stdout, /^control /m);
    assert.equal((fake.stdout.match(/^refused/gm) ?? []).length, 4, fake.stdout);
  } finally {
    await m.d.stop();
  }
});
