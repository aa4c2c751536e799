// Egress proxy as an HTTP CONNECT proxy (`flyme service --proxy-port P` without an upstream of its own): the
// client names a registry name (`CONNECT service-b.example.org:443 HTTP/1.1`), the proxy answers 200 only once
// that name's registered owner proved its SPIFFE ID, then bytes flow (the upstream sees the service's identity).
// Attacks: a rogue with another SPIFFE ID at the registered address → 403 with FLYME_ID_NOT_AUTHORIZED and not a
// byte reaches the rogue; CONNECT to a bare IP address (bypassing the registry) → 400; an unknown name → 404; a
// request that is not CONNECT → 400. Control: the real owner, same proxy, same test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tempDir } from '../helpers/daemon.js';
import { meshCerts, SERVER_ID, startRegistry } from '../helpers/mesh.js';
import { eventLog, upstreamServer } from '../helpers/egress.js';
import { certsDirSource } from '../../src/identity/source/files.js';
import { RegistryClient } from '../../src/mesh/registry-client.js';
import { startEgressProxy } from '../../src/mesh/egress.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';
const ROGUE = 'spiffe://example.org/svc/rogue';

/** Sends `head` (+ `body`), half-closes, returns everything the proxy sent back. */
function exchange(port: number, head: string, body = ''): Promise<string> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    let text = '';
    s.on('data', (d) => { text += String(d); });
    s.on('error', () => undefined);
    s.on('close', () => res(text));
    s.write(head + body);
    s.end();
  });
}

test('egress HTTP CONNECT: 200 and bytes only to the registered owner; rogue, bare IP, unknown name, non-CONNECT refused', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-egress-connect-');
  const certs = await meshCerts(dir, { a: A, b: B, rogue: ROGUE });
  const reg = await startRegistry(dir, [], false);
  const srcA = await certsDirSource(certs, 'a');
  const srcB = await certsDirSource(certs, 'b');
  const regA = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcA });
  const regB = await RegistryClient.connect({ url: `tls://${reg.target}`, registryId: SERVER_ID, source: srcB });
  const b = await upstreamServer(certs, 'b', B);
  const rogue = await upstreamServer(certs, 'rogue', ROGUE);
  const events = eventLog();
  const proxy = await startEgressProxy({ listen: { host: '127.0.0.1', port: 0 }, registry: regA, source: srcA, onEvent: events.onEvent });
  const CONNECT = 'CONNECT service-b.example.org:443 HTTP/1.1\r\nHost: service-b.example.org:443\r\n\r\n';
  try {
    // attack: a rogue at the address service-b's record names
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: rogue.port });
    const refused = await exchange(proxy.port, CONNECT, 'secret request');
    assert.match(refused, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(refused, /X-FlyMe-Error: FLYME_ID_NOT_AUTHORIZED/);
    assert.equal((await events.next('refused')).peerId, ROGUE);
    assert.equal(rogue.received(), 0, 'the rogue read none of the client\'s bytes');

    // attacks on the request itself
    assert.match(await exchange(proxy.port, `CONNECT 127.0.0.1:${b.port} HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 400 .*\r\n[\s\S]*registry name/);
    assert.match(await exchange(proxy.port, 'CONNECT nobody.example.org:443 HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*FLYME_NOT_FOUND/);
    assert.match(await exchange(proxy.port, 'GET http://service-b.example.org/ HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(await exchange(proxy.port, `CONNECT service-b.example.org:443 HTTP/1.1\r\nX-Pad: ${'x'.repeat(5000)}\r\n\r\n`), /^HTTP\/1\.1 400 [\s\S]*over 4096 bytes/);
    assert.equal(b.connections(), 0, 'no request above reached service-b');

    // control: the real service-b; the bytes after the CONNECT head arrive too
    await regB.deregister({ name: 'service-b.example.org' });
    await regB.register({ name: 'service-b.example.org', address: '127.0.0.1', port: b.port });
    let ok = await exchange(proxy.port, CONNECT, 'hello');
    for (let i = 0; i < 40 && !ok.startsWith('HTTP/1.1 200'); i++) { // the proxy may reuse the rogue's record for up to 1 s
      await new Promise((res) => setTimeout(res, 100));
      ok = await exchange(proxy.port, CONNECT, 'hello');
    }
    assert.equal(ok, `HTTP/1.1 200 Connection Established\r\n\r\n${B} sees ${A}: hello`);
    assert.equal(rogue.received(), 0);
  } finally {
    await proxy.close();
    regA.close(); regB.close(); srcA.close(); srcB.close();
    await Promise.all([b.close(), rogue.close()]);
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
