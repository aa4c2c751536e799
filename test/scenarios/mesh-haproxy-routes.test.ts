// `flyme haproxy config` routes for real: two TLS backends with distinct SPIFFE IDs registered under two names
// in a real registry, the generated configuration checked by `haproxy -c` and run by HAProxy (2.6, Debian).
// Through HAProxy, SNI service-a reaches service-a's backend and SNI service-b service-b's (the client sees
// each backend's SPIFFE ID end to end: HAProxy does not terminate TLS); an unregistered SNI is closed before
// any handshake (attack), in the same run as the two that work (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, SERVER_ID, sleep, startRegistry, throughSni, tlsBackend } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const C = 'spiffe://example.org/svc/client';

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => res(port)); });
});
const accepts = (port: number) => new Promise<boolean>((res) => {
  const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); res(true); });
  s.on('error', () => res(false));
});

test('haproxy: the generated configuration routes each SNI to its registered backend; an unknown SNI is closed', { timeout: 120_000 }, async () => {
  const dir = tempDir('flyme-mesh-haproxy-');
  const certs = await meshCerts(dir, { a: A, b: B, c: C });
  const reg = await startRegistry(dir, [], false);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  const aSrv = await tlsBackend(certs, 'a', A);
  const bSrv = await tlsBackend(certs, 'b', B);
  let haproxy: ReturnType<typeof spawn> | undefined;
  let log = '';
  try {
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.1', port: aSrv.port });
    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.1', port: bSrv.port });
    const port = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    const gen = await runCli(['--certs', certs, 'haproxy', 'config', '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID, '--listen', `127.0.0.1:${port}`, '--out', cfg]);
    assert.equal(gen.code, 0, gen.stderr);
    const text = readFileSync(cfg, 'utf8');
    assert.match(text, new RegExp(`server \\S+ 127\\.0\\.0\\.1:${aSrv.port}\\n`));
    assert.match(text, new RegExp(`server \\S+ 127\\.0\\.0\\.1:${bSrv.port}\\n`));
    const check = spawnSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);

    haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    haproxy.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    for (let i = 0; !(await accepts(port)); i++) {
      assert.ok(i < 200 && haproxy.exitCode === null, `haproxy did not listen:\n${log}`);
      await sleep(25);
    }
    // control: each registered SNI reaches its own backend, mutual TLS end to end through HAProxy
    const viaA = await throughSni(certs, 'c', port, 'service-a.example.org');
    assert.deepEqual(viaA, { id: A, text: `${A} sees ${C}` }, String(viaA));
    const viaB = await throughSni(certs, 'c', port, 'service-b.example.org');
    assert.deepEqual(viaB, { id: B, text: `${B} sees ${C}` }, String(viaB));
    // attack: a name nobody registered, and one outside the zone: no backend, closed before any handshake
    assert.ok(await throughSni(certs, 'c', port, 'service-x.example.org') instanceof Error);
    assert.ok(await throughSni(certs, 'c', port, 'evil.example.net') instanceof Error);
    // and the registered ones still work afterwards
    assert.equal(((await throughSni(certs, 'c', port, 'service-b.example.org')) as { id: string }).id, B);
  } finally {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      haproxy.kill('SIGTERM');
      await exited;
    }
    a.close();
    b.close();
    await Promise.all([aSrv.close(), bSrv.close()]);
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
