// `flyme router`: TLS passthrough by SNI. A client connects to the router with SNI service-b.example.org and
// completes mutual TLS with the backend itself: it sees service-b's SPIFFE ID (from the DER of the peer
// certificate) and the backend sees the client's. Routes follow the registry's Watch live (a name registered
// after the router started is reachable; a deregistered one is not); an unknown SNI is closed (attack) while
// the registered one is routed (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { startFlyme } from '../helpers/agent.js';
import { meshCerts, registryClient, SERVER_ID, sleep, startRegistry, throughSni, tlsBackend } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const backend = tlsBackend;
const through = (certs: string, port: number, sni: string) => throughSni(certs, 'a', port, sni);

test('router: SNI passthrough reaches the registered backend end to end; unknown SNI is closed; routes follow Watch', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-router-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  const bSrv = await backend(certs, 'b', B);
  const aSrv = await backend(certs, 'a', A);
  const router = await startFlyme(['--certs', certs, 'router', '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID, '--listen', '127.0.0.1:0'], 'flyme router ready');
  try {
    const ready = JSON.parse(router.log().split('\n').find((l) => l.includes('flyme router ready'))!) as { listen: string };
    const port = Number(ready.listen.split(':').pop());
    while (!router.log().includes('routes follow the registry')) await sleep(20);

    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.1', port: bSrv.port });
    const waitFor = async (sni: string, ok: boolean) => {
      for (let i = 0; i < 100; i++) {
        const r = await through(certs, port, sni);
        if (!(r instanceof Error) === ok) return r;
        await sleep(50);
      }
      throw new Error(`${sni}: still ${ok ? 'refused' : 'routed'}`);
    };
    // control: the registered name, end to end
    const viaB = await waitFor('service-b.example.org', true) as { id: string; text: string };
    assert.equal(viaB.id, B);
    assert.equal(viaB.text, `${B} sees ${A}`);
    // attack: a name nobody registered (and no SNI-less guess): closed before any handshake
    assert.ok(await through(certs, port, 'service-x.example.org') instanceof Error);
    assert.ok(await through(certs, port, 'evil.example.net') instanceof Error);
    // routes follow the registry: a new name is routed, a deregistered one is closed
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.1', port: aSrv.port });
    assert.equal(((await waitFor('service-a.example.org', true)) as { id: string }).id, A);
    await b.call('Deregister', { name: 'service-b.example.org' });
    await waitFor('service-b.example.org', false);
    assert.match(router.log(), /no registered backend for SNI service-x\.example\.org/);
  } finally {
    a.close();
    b.close();
    await router.stop();
    await Promise.all([aSrv.close(), bSrv.close()]);
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
