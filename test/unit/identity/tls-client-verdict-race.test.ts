// dialTls against a server that hangs up as soon as its side of the handshake is done: the client's verdict on the
// server, not the close racing it, decides the refusal. A rogue with a valid SVID of the trust domain but the wrong
// SPIFFE ID is refused as FLYME_ID_NOT_AUTHORIZED every time (before, its close often won and the refusal read
// "closed the connection during the TLS handshake", which hides that the peer was an impostor). Control: the right
// server, the same way but staying up, is connected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { FlyMeError } from '../../../src/errors.js';
import { authorizeId, createRootCA, issueSvidWithKey, type CertificateAuthority } from '../../../src/identity/index.js';
import { dialTls } from '../../../src/identity/tls/index.js';
import { tempDir } from './fixtures.js';

const TD = 'flyme.local';
const SERVER_ID = `spiffe://${TD}/flymed`;
const ROGUE_ID = `spiffe://${TD}/rogue`;
const { dir, cleanup } = tempDir('flyme-tls-race-');
let ca: CertificateAuthority;
const client = { certPath: join(dir, 'client.pem'), keyPath: join(dir, 'client.key.pem'), caPaths: [join(dir, 'root-ca.pem')] };

before(async () => {
  ca = await createRootCA({ trustDomain: TD });
  writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
  const svid = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/client` });
  writeFileSync(client.certPath, svid.chainPem);
  writeFileSync(client.keyPath, svid.keyPem, { mode: 0o600 });
});
after(cleanup);

/** A node:tls server with a fresh SVID for `id` (a new certificate: FlyMe's client verifies it in full, no cached verdict). */
async function server(id: string, name: string, onSecure: (s: TLSSocket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const svid = await issueSvidWithKey(ca, { spiffeId: id });
  const path = join(dir, `${name}.sock`);
  const s: Server = createServer({ cert: svid.chainPem, key: svid.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, onSecure);
  await new Promise<void>((res) => s.listen(path, res));
  return { url: `unix+tls://${path}`, close: () => new Promise((res) => s.close(() => res())) };
}

const refusalOf = async (url: string): Promise<FlyMeError> => {
  try {
    (await dialTls(url, { ...client, serverAuthorizer: authorizeId(SERVER_ID) })).destroy();
  } catch (err) {
    assert.ok(err instanceof FlyMeError, String(err));
    return err;
  }
  assert.fail('dialTls should have been refused');
};

test('a rogue that hangs up at once is refused for its SPIFFE ID, every time', async () => {
  for (let i = 0; i < 8; i++) {
    const rogue = await server(ROGUE_ID, `rogue-${i}`, (s) => s.destroy());
    try {
      const err = await refusalOf(rogue.url);
      assert.equal(err.code, 'FLYME_ID_NOT_AUTHORIZED', `attempt ${i}: ${err.code}: ${err.message}`);
      assert.match(err.message, /spiffe:\/\/flyme\.local\/rogue/);
    } finally {
      await rogue.close();
    }
  }
});

test('control: the right server, the same way but staying up, is connected', async () => {
  const up = await server(SERVER_ID, 'up', () => undefined);
  try {
    const socket = await dialTls(up.url, { ...client, serverAuthorizer: authorizeId(SERVER_ID) });
    assert.equal(socket.encrypted, true);
    socket.destroy();
  } finally {
    await up.close();
  }
});
