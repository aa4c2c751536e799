// `flyme envoy config` against a real registry (mutual TLS, Watch snapshot): the bootstrap it prints has the
// structure Envoy requires (test/helpers/envoy.ts) and routes each registered SNI to exactly the registry's
// addresses (IPv6 included, two records of one name round robin); a registry with another SPIFFE ID than
// --registry-id is refused (nothing printed), the right one is read (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { parse } from 'yaml';
import { runCli, tempDir } from '../helpers/daemon.js';
import { checkEnvoy, type Obj } from '../helpers/envoy.js';
import { meshCerts, registryClient, SERVER_ID, startRegistry } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

test('envoy config: the registry\'s records as an Envoy bootstrap with the required structure', { timeout: 90_000 }, async () => {
  const dir = tempDir('flyme-mesh-envoy-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const a = await registryClient(certs, 'a', reg.target);
  const b = await registryClient(certs, 'b', reg.target);
  try {
    await a.call('Register', { name: 'service-a.example.org', address: '::1', port: 9001 });
    await a.call('Register', { name: 'service-a.example.org', address: '127.0.0.2', port: 9001 });
    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9002 });
    const gen = (id: string) => runCli(['--certs', certs, 'envoy', 'config', '--registry', `tls://${reg.target}`, '--registry-id', id, '--listen', '[::]:8443']);
    const r = await gen(SERVER_ID);
    assert.equal(r.code, 0, r.stderr);
    const doc = parse(r.stdout) as Obj;
    const routes = checkEnvoy(doc);
    assert.deepEqual(Object.fromEntries([...routes].map(([k, v]) => [k, [...v].sort()])), {
      'service-a.example.org': ['127.0.0.2|9001', '::1|9001'],
      'service-b.example.org': ['127.0.0.3|9002'],
    });
    assert.deepEqual(((doc.static_resources as Obj).listeners as Obj[])[0]!.address, { socket_address: { address: '::', port_value: 8443 } });
    // the same registry state prints the same file
    assert.equal((await gen(SERVER_ID)).stdout, r.stdout);
    // a registry that is not the one named: refused before anything is read
    const wrong = await gen('spiffe://example.org/not-the-registry');
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.stdout, '');
  } finally {
    a.close();
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
