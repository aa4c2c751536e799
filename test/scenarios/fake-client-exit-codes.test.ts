// flyme-fake-client exits 0 only when a control with the real client identity was admitted and every attack
// reached the daemon and was refused at the TLS/identity layer. Nothing there → 4 (the old client said 0:
// "all refused"). A daemon that admits an attack → non-zero with that attempt named NOT REFUSED: a plain
// unix:// daemon (answers JSON-RPC without TLS) and an mTLS daemon whose trust bundle holds the attacker's CA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, runCli, startDaemon, startMtlsDaemon, tempDir } from '../helpers/daemon.js';

const FAKE = join(FLYME, '../fake-client.js');

function fake(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((r) => {
    const p = spawn(process.execPath, [FAKE, '--timeout', '3s', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', (code) => r({ code, out }));
  });
}

test('nothing at the address: exit 4, never "all refused"', async () => {
  const dir = tempDir();
  const init = await runCli(['certs', 'init', '--dir', join(dir, 'certs')]);
  assert.equal(init.code, 0, init.stderr);
  const r = await fake(['--connect', `unix+tls://${join(dir, 'nobody-listens.sock')}`, '--certs', join(dir, 'certs')]);
  assert.equal(r.code, 4, r.out);
  assert.match(r.out, /^CONTROL FAILED/m);
  assert.match(r.out, /^UNREACHABLE {2}no client certificate/m);
  assert.doesNotMatch(r.out, /^refused/m);
});

test('real mTLS flymed: control admitted, all four attacks refused, exit 0', async () => {
  const m = await startMtlsDaemon();
  try {
    const r = await fake(['--connect', m.url, '--certs', m.certs]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^control {4} {2}real client spiffe:\/\/flyme\.local\/client: the daemon answered ping/m);
    assert.match(r.out, /^refused {6}self-signed leaf claiming spiffe:\/\/flyme\.local\/client/m);
    assert.equal((r.out.match(/^refused/gm) ?? []).length, 4, r.out);
  } finally {
    await m.d.stop();
  }
});

test('plain unix:// daemon at the address: the plain attempt is NOT REFUSED, exit 1', async () => {
  const dir = tempDir();
  const init = await runCli(['certs', 'init', '--dir', join(dir, 'certs')]);
  assert.equal(init.code, 0, init.stderr);
  const d = await startDaemon([], { dir });
  try {
    const r = await fake(['--connect', `unix+tls://${d.socket}`, '--certs', join(dir, 'certs')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^NOT REFUSED {2}plain JSON-RPC without TLS: the daemon answered ping in plain JSON-RPC/m);
  } finally {
    await d.stop();
  }
});

test("mTLS daemon trusting the attacker's CA: the other-CA leaf is NOT REFUSED, exit 1", async () => {
  const dir = tempDir();
  for (const name of ['certs', 'attacker-ca']) {
    const init = await runCli(['certs', 'init', '--dir', join(dir, name)]);
    assert.equal(init.code, 0, init.stderr);
  }
  // The daemon's copy of the certs trusts both roots; the client's copy trusts only its own.
  const daemonCerts = join(dir, 'daemon-certs');
  cpSync(join(dir, 'certs'), daemonCerts, { recursive: true });
  writeFileSync(join(daemonCerts, 'root-ca.pem'), readFileSync(join(dir, 'certs', 'root-ca.pem'), 'utf8') + readFileSync(join(dir, 'attacker-ca', 'root-ca.pem'), 'utf8'));
  const m = await startMtlsDaemon([], { dir, certs: daemonCerts });
  try {
    const control = await fake(['--connect', m.url, '--certs', join(dir, 'certs')]);
    assert.equal(control.code, 0, `control: a fresh attacker CA is refused by the same daemon\n${control.out}`);
    const r = await fake(['--connect', m.url, '--certs', join(dir, 'certs'), '--other-ca', join(dir, 'attacker-ca')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^NOT REFUSED {2}leaf for spiffe:\/\/flyme\.local\/client from another CA \(.*attacker-ca\): the daemon answered/m);
    assert.match(r.out, /^refused {6}no client certificate/m, 'control: the other attacks are still refused');
  } finally {
    await m.d.stop();
  }
});
