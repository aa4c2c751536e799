// Over unix+tls://, the daemon serves a client with a FlyMe certificate and refuses the fake client's
// four attempts (no cert, self-signed leaf, other CA, plain JSON-RPC); client- and server-side SPIFFE ID checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, startMtlsDaemon } from '../helpers/daemon.js';

const FAKE = resolve(fileURLToPath(import.meta.url), '../../../src/cli/fake-client.js');

function fake(url: string, certs: string): Promise<{ code: number | null; out: string }> {
  return new Promise((r) => {
    const p = spawn(process.execPath, [FAKE, '--connect', url, '--certs', certs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', (code) => r({ code, out }));
  });
}

test('mTLS daemon: FlyMe client served (control), fake client refused four times', async () => {
  const { d, certs, url } = await startMtlsDaemon();
  try {
    const ok = await runCli(['--connect', url, '--certs', certs, '--json', 'whoami']);
    assert.equal(ok.code, 0, ok.stderr);
    const who = JSON.parse(ok.stdout);
    assert.equal(who.cert.spiffeId, 'spiffe://flyme.local/client');
    assert.equal(who.peer.uid, process.getuid!()); // kernel credentials alongside the certificate
    assert.match(who.cert.serial, /^01[0-9a-f]{32}$/);

    const r = await fake(url, certs);
    assert.equal(r.code, 0, r.out);
    assert.equal((r.out.match(/^refused/gm) ?? []).length, 4, r.out);

    const status = JSON.parse((await runCli(['--connect', url, '--certs', certs, '--json', 'status'])).stdout);
    assert.equal(status.tls.spiffeId, 'spiffe://flyme.local/flymed');
    const failures = Object.values(status.tls.handshakeFailures as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(failures >= 3, JSON.stringify(status.tls));
  } finally {
    await d.stop();
  }
});

test('client refuses a daemon whose SPIFFE ID is not the expected one', async () => {
  const { d, certs, url } = await startMtlsDaemon();
  try {
    const bad = await runCli(['--connect', url, '--certs', certs, '--server-id', 'spiffe://flyme.local/not-flymed', 'ping']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not authorized/);
    const good = await runCli(['--connect', url, '--certs', certs, '--server-id', 'spiffe://flyme.local/flymed', 'ping']);
    assert.equal(good.code, 0, good.stderr);
  } finally {
    await d.stop();
  }
});

test('the daemon admits only --allow-id clients when given', async () => {
  const { d, dir, certs, url } = await startMtlsDaemon(['--allow-id', 'spiffe://flyme.local/someone-else']);
  try {
    const refused = await runCli(['--connect', url, '--certs', certs, 'ping']);
    assert.notEqual(refused.code, 0);
    assert.match(d.log(), /not authorized/);
  } finally {
    await d.stop();
  }
  const { d: d2 } = await startMtlsDaemon(['--allow-id', 'spiffe://flyme.local/client'], { dir, certs });
  try {
    const ok = await runCli(['--connect', url, '--certs', certs, 'ping']);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await d2.stop();
  }
});
