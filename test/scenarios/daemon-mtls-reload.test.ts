// Replacing the daemon's certificate on disk: new connections see the new serial, an old connection keeps
// working; replacing it with garbage keeps the old credentials in service (and SIGHUP forces a reload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { dialTls } from '../../src/identity/tls/index.js';
import { authorizeId } from '../../src/identity/index.js';
import { runCli, startMtlsDaemon } from '../helpers/daemon.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('cert reload without restart; garbage is refused and the old cert stays', async () => {
  const { d, certs, url } = await startMtlsDaemon();
  const status = async () => {
    const r = await runCli(['--connect', url, '--certs', certs, '--json', 'status']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).tls.serial as string;
  };
  const old = await connect(url, {
    socket: await dialTls(url, {
      certPath: join(certs, 'client.pem'), keyPath: join(certs, 'client.key.pem'), caPaths: [join(certs, 'root-ca.pem')],
      serverAuthorizer: authorizeId('spiffe://flyme.local/flymed'),
    }),
  });
  try {
    const before = await status();
    const issued = await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', 'spiffe://flyme.local/flymed', '--dns', 'localhost', '--out', join(certs, 'server'), '--force']);
    assert.equal(issued.code, 0, issued.stderr);
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) { await sleep(100); after = await status(); }
    assert.notEqual(after, before, 'new connections should see the new serial');
    assert.equal((await old.call<{ message: string }>('ping', { message: 'still here' })).message, 'still here');

    writeFileSync(join(certs, 'server.pem'), 'garbage\n');
    d.proc.kill('SIGHUP');
    await sleep(500);
    assert.match(d.log(), /TLS reload refused, keeping the old credentials/);
    assert.equal(await status(), after, 'the daemon keeps serving with the last good certificate');
  } finally {
    await old.close();
    await d.stop();
  }
});
