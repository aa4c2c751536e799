// A service whose SPIFFE ID does not own its --sni is refused by the registry at start: `flyme service` exits
// non-zero with the registry's reason and nothing is registered; the owner (control) starts and is registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/daemon.js';
import { meshCerts, registryClient, SERVER_ID, startRegistry } from '../helpers/mesh.js';
import { startService } from '../helpers/mesh-service.js';

const A = 'spiffe://example.org/svc/service-a';
const B = 'spiffe://example.org/svc/service-b';

test('service: a registration refused at start ends the process with the registry\'s reason', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-refused-');
  const certs = await meshCerts(dir, { a: A, b: B });
  const reg = await startRegistry(dir, [], false);
  const r = await registryClient(certs, 'a', reg.target);
  try {
    // attack: A claims service-b
    const bad = await runCli(['--certs', certs, 'service', '--svid', 'a', '--sni', 'service-b.example.org', '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID, '--port', '0']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /registry Register: spiffe:\/\/example\.org\/svc\/service-a does not own service-b\.example\.org/);
    await assert.rejects(r.call('Resolve', { name: 'service-b.example.org' }));
    // control: the owner
    const b = await startService(certs, 'b', 'service-b.example.org', reg);
    const res = await r.call<{ records: Array<{ owner: string; port: number }> }>('Resolve', { name: 'service-b.example.org' });
    assert.deepEqual(res.records.map((x) => [x.owner, x.port]), [[B, b.port]]);
    await b.proc.stop();
  } finally {
    r.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
