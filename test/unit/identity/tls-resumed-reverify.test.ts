// A resumed TLS 1.3 session is not a pass: the server reads the client's leaf back from the session and
// verifies it again against what is in force now. A session whose certificate has since expired is refused
// (OpenSSL itself does not look at validity on resumption), and after a revocation list arrives (new bundle,
// new ticket keys) the old ticket no longer resumes and the revoked certificate is refused. Controls: the
// same ticket resumes while the certificate is valid, and a certificate that was not revoked still connects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlyMeError } from '../../../src/errors.js';
import { authorizeMemberOf, authorizeId, createCrl, createRootCA, issueSvidWithKey, type CertificateAuthority } from '../../../src/identity/index.js';
import { filesX509Source } from '../../../src/identity/source/files.js';
import { dialTls, TlsServerUpgrader } from '../../../src/identity/tls/index.js';
import type { AcceptedConnection } from '../../../src/transport/listener.js';
import type { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { pingServer, tempDir } from './fixtures.js';

const TD = 'resume.test';
const SERVER_ID = `spiffe://${TD}/flymed`;

describe('resumed mTLS sessions are verified again', () => {
  const { dir, cleanup } = tempDir('flyme-tls-resume-');
  const sock = join(dir, 's.sock');
  const url = `unix+tls://${sock}`;
  const rootPath = join(dir, 'root-ca.pem');
  const crlPath = join(dir, 'crl.pem');
  let root: CertificateAuthority;
  let server: RpcServer;
  let upgrader: TlsServerUpgrader;
  const refused: FlyMeError[] = [];
  const accepted: AcceptedConnection[] = [];

  const client = async (name: string, notAfter?: Date) => {
    const svid = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/${name}`, ...(notAfter ? { notAfter } : {}) });
    const files = { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`) };
    writeFileSync(files.certPath, svid.chainPem);
    writeFileSync(files.keyPath, svid.keyPem, { mode: 0o600 });
    return { ...files, caPaths: [rootPath], serverAuthorizer: authorizeId(SERVER_ID), timeoutMs: 3000, serial: svid.cert.serialNumber };
  };

  /** Dials (resuming `session` if given), calls ping; the client socket's resumption flag and what happened. */
  const attempt = async (opts: Awaited<ReturnType<typeof client>>, session?: Buffer, sessions?: Buffer[]) => {
    const n = refused.length;
    const { serial: _serial, ...dial } = opts;
    const socket = await dialTls(url, { ...dial, ...(session ? { session } : {}), onSession: (s) => sessions?.push(s) });
    const resumed = socket.isSessionReused();
    const c = await connect(url, { socket, callTimeoutMs: 3000 });
    try {
      await c.call('ping', {});
      // Tickets arrive after the handshake: wait for one when asked to collect them.
      for (let i = 0; sessions && i < 100 && sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      return { resumed, ok: true as const };
    } catch {
      for (let i = 0; i < 300 && refused.length <= n; i++) await new Promise((r) => setTimeout(r, 10));
      return { resumed, ok: false as const, refusal: refused[n] };
    } finally {
      await c.close();
    }
  };

  before(async () => {
    root = await createRootCA({ trustDomain: TD });
    writeFileSync(rootPath, root.certPem);
    const s = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
    writeFileSync(join(dir, 'server.pem'), s.chainPem);
    writeFileSync(join(dir, 'server.key.pem'), s.keyPem, { mode: 0o600 });
    const source = await filesX509Source({ certPath: join(dir, 'server.pem'), keyPath: join(dir, 'server.key.pem'), bundlePaths: [rootPath], crlPaths: [crlPath] }, { watch: false });
    upgrader = new TlsServerUpgrader({ source, authorizer: authorizeMemberOf(TD), handshakeTimeoutMs: 2000, ownsSource: true });
    server = await pingServer(url, upgrader, { onRefused: (e) => refused.push(e), assignRoles: (_p, conn) => { accepted.push(conn); } });
  });

  after(async () => {
    upgrader.close();
    await server.close(100);
    cleanup();
  });

  it('refuses a resumed session whose client certificate has expired since', async () => {
    const notAfter = new Date(Date.now() + 2500);
    const c = await client('short-lived', notAfter);
    const sessions: Buffer[] = [];
    assert.equal((await attempt(c, undefined, sessions)).ok, true, 'control: the certificate works while valid');
    assert.ok(sessions.length > 0, 'the server sent a ticket');
    const again = await attempt(c, sessions.at(-1));
    assert.deepEqual([again.resumed, again.ok], [true, true], 'control: the ticket resumes while the certificate is valid');
    assert.equal(accepted.at(-1)!.resumed, true);

    while (Date.now() <= notAfter.getTime() + 50) await new Promise((r) => setTimeout(r, 100));
    const late = await attempt(c, sessions.at(-1));
    assert.equal(late.resumed, true, 'the session itself still resumes at the TLS level');
    assert.equal(late.ok, false, 'the expired certificate is not let in through the resumed session');
    assert.equal(late.refusal?.data['reason'], 'expired', late.refusal?.message);
  });

  it('after a revocation list arrives the old ticket does not resume and the revoked certificate is refused', async () => {
    const revoked = await client('revoked');
    const kept = await client('kept');
    const sessions: Buffer[] = [];
    assert.equal((await attempt(revoked, undefined, sessions)).ok, true, 'control: works before the revocation');
    const again = await attempt(revoked, sessions.at(-1));
    assert.deepEqual([again.resumed, again.ok], [true, true], 'control: the ticket resumes before the revocation');

    writeFileSync(crlPath, Buffer.from((await createCrl(root, [revoked.serial])).rawData)); // DER
    await upgrader.reload();
    const late = await attempt(revoked, sessions.at(-1));
    assert.equal(late.resumed, false, 'a new bundle brings new ticket keys: the old ticket is not accepted');
    assert.equal(late.ok, false, 'the revoked certificate is refused');
    assert.equal(late.refusal?.data['reason'], 'revoked', late.refusal?.message);
    assert.equal((await attempt(kept)).ok, true, 'control: a certificate that was not revoked connects');
  });
});
