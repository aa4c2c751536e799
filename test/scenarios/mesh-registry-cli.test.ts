// `flyme registry resolve` and `flyme registry watch` from the shell: the live records of a registry over
// mutual TLS (text and --json), FLYME_NOT_FOUND for a name without records, the watch's snapshot then a
// change as it happens; a registry whose SPIFFE ID is not --registry-id is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { FLYME, runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, SERVER_ID, sleep, startRegistry } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';

test('registry resolve and watch print the registry\'s records', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-cli-');
  const certs = await meshCerts(dir, { a: A });
  const reg = await startRegistry(dir, [], false);
  const a = await registryClient(certs, 'a', reg.target);
  const flags = ['--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID];
  const watcher = spawn(process.execPath, [FLYME, '--certs', certs, '--json', 'registry', 'watch', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  watcher.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    await a.call('Register', { name: 'service-a.example.org', address: '::1', port: 9001 });
    const text = await runCli(['--certs', certs, 'registry', 'resolve', 'Service-A.example.org.', ...flags]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^service-a\\.example\\.org \\[::1\\]:9001 sni=service-a\\.example\\.org owner=${A} expires=\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`));
    const json = await runCli(['--certs', certs, '--json', 'registry', 'resolve', 'service-a.example.org', ...flags]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { records: Array<{ name: string; address: string; port: number; owner: string }> };
    assert.deepEqual(parsed.records.map((r) => [r.name, r.address, r.port, r.owner]), [['service-a.example.org', '::1', 9001, A]]);

    const none = await runCli(['--certs', certs, '--json', 'registry', 'resolve', 'service-x.example.org', ...flags]);
    assert.equal(none.code, 1);
    // (stderr may also hold Node's warning about an IP address as TLS server name: the JSON error is its own line)
    const error = none.stderr.split('\n').find((l) => l.startsWith('{"error"'));
    assert.equal((JSON.parse(error ?? '{}') as { error?: { code: string } }).error?.code, 'FLYME_NOT_FOUND', none.stderr);
    const wrongId = await runCli(['--certs', certs, 'registry', 'resolve', 'service-a.example.org', '--registry', `tls://${reg.target}`, '--registry-id', 'spiffe://example.org/not-the-registry']);
    assert.notEqual(wrongId.code, 0);
    assert.equal(wrongId.stdout, '');

    // the watch: SYNCED (with or without the record in its snapshot, depending on when it started), then the change
    while (!out.includes('"SYNCED"')) { assert.equal(watcher.exitCode, null, out); await sleep(20); }
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9002 });
    while (!out.includes('127.0.0.2')) { assert.equal(watcher.exitCode, null, out); await sleep(20); }
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; record?: { address: string } });
    assert.deepEqual(lines.at(-1), { kind: 'REGISTERED', record: lines.at(-1)!.record });
    assert.equal(lines.at(-1)!.record!.address, '127.0.0.2');
    assert.ok(lines.findIndex((l) => l.kind === 'SYNCED') < lines.length - 1);
  } finally {
    watcher.kill('SIGTERM');
    a.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
