// dialTls hands out its TLS sessions without the server's certificate (session-peer.ts sessionWithoutPeer:
// resuming would make OpenSSL decode it again, 140 of 143 µs of TLSSocket#setSession here). What must hold:
// such a session resumes; the server of a resumed connection is still verified, from the chain this process
// verified when the ticket came (an authorizer that no longer accepts the server refuses it); a session this
// process never verified is refused even though it resumes at the TLS level and even when it carries the
// server's certificate itself (FlyMe never trusts what is in a session). Controls: a plain node:tls client's
// ticket does carry the server certificate, and the right authorizer lets the resumed connection through.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { FlyMeError } from '../../../src/errors.js';
import { authorizeId, authorizeMemberOf, createRootCA, issueSvidWithKey } from '../../../src/identity/index.js';
import { filesX509Source } from '../../../src/identity/source/files.js';
import { dialTls, TlsServerUpgrader } from '../../../src/identity/tls/index.js';
import { sessionPeerCertificate, sessionWithoutPeer } from '../../../src/identity/tls/session-peer.js';
import type { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { pingServer, tempDir } from './fixtures.js';

const TD = 'client-session.test';
const SERVER_ID = `spiffe://${TD}/flymed`;

describe('the TLS sessions dialTls hands out', () => {
  const { dir, cleanup } = tempDir('flyme-tls-client-session-');
  const sock = join(dir, 's.sock');
  const url = `unix+tls://${sock}`;
  let server: RpcServer;
  let upgrader: TlsServerUpgrader;
  let serverLeaf: Buffer;
  const files = { certPath: join(dir, 'client.pem'), keyPath: join(dir, 'client.key.pem'), caPaths: [join(dir, 'root-ca.pem')] };

  before(async () => {
    const root = await createRootCA({ trustDomain: TD });
    writeFileSync(files.caPaths[0]!, root.certPem);
    const s = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
    serverLeaf = Buffer.from(s.cert.rawData);
    const source = await filesX509Source({ certPath: writePem('server.pem', s.chainPem), keyPath: writePem('server.key.pem', s.keyPem), bundlePaths: files.caPaths }, { watch: false });
    upgrader = new TlsServerUpgrader({ source, authorizer: authorizeMemberOf(TD), ownsSource: true });
    const c = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/client` });
    writePem('client.pem', c.chainPem);
    writePem('client.key.pem', c.keyPem);
    server = await pingServer(url, upgrader);
  });
  after(async () => {
    upgrader.close();
    await server.close(100);
    cleanup();
  });
  function writePem(name: string, pem: string): string {
    writeFileSync(join(dir, name), pem, { mode: 0o600 });
    return join(dir, name);
  }

  /** Dials with FlyMe (resuming `session` if given), pings, waits for a ticket (a full handshake's): the sessions handed out and whether it resumed. */
  async function flymeDial(session?: Buffer, serverAuthorizer = authorizeId(SERVER_ID)): Promise<{ resumed: boolean; sessions: Buffer[] }> {
    const sessions: Buffer[] = [];
    const socket = await dialTls(url, { ...files, serverAuthorizer, timeoutMs: 3000, ...(session ? { session } : {}), onSession: (s) => sessions.push(s) });
    const resumed = socket.isSessionReused(); // read before the close (null after)
    const c = await connect(url, { socket, callTimeoutMs: 3000 });
    await c.call('ping', {});
    for (let i = 0; i < 100 && !resumed && sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await c.close();
    return { resumed, sessions };
  }

  /** A ticket as a plain node:tls client gets it from the same server (never seen by dialTls). */
  async function plainTicket(): Promise<Buffer> {
    const s: TLSSocket = tlsConnect({ path: sock, cert: readFileSync(files.certPath), key: readFileSync(files.keyPath), ca: readFileSync(files.caPaths[0]!), checkServerIdentity: () => undefined, minVersion: 'TLSv1.3' });
    s.on('error', () => undefined);
    const ticket = await new Promise<Buffer>((resolve) => s.once('session', resolve));
    s.destroy();
    return ticket;
  }

  it('carry no server certificate, and resume', async () => {
    const raw = await plainTicket();
    assert.deepEqual(Buffer.from(sessionPeerCertificate(raw)!), serverLeaf, 'control: an OpenSSL client session holds the server leaf');
    const first = await flymeDial();
    assert.equal(first.resumed, false);
    assert.ok(first.sessions.length > 0, 'the server sent a ticket');
    for (const s of first.sessions) assert.equal(sessionPeerCertificate(s), undefined, 'no certificate in what dialTls hands out');
    const again = await flymeDial(first.sessions.at(-1));
    assert.equal(again.resumed, true, 'the session without the certificate resumes');
    for (const s of again.sessions) assert.equal(sessionPeerCertificate(s), undefined);
    assert.equal((await flymeDial(first.sessions[0])).resumed, true, 'and so does the first ticket, again');
  });

  it('the server of a resumed connection is verified again from the remembered chain', async () => {
    const { sessions } = await flymeDial();
    await assert.rejects(flymeDial(sessions.at(-1), authorizeId(`spiffe://${TD}/someone-else`)), (e: FlyMeError) => {
      assert.equal(e.code, 'FLYME_ID_NOT_AUTHORIZED', e.message);
      return true;
    });
    assert.equal((await flymeDial(sessions.at(-1))).resumed, true, 'control: the right authorizer lets the same session resume');
  });

  it('a session this process never verified is refused, with or without the certificate in it', async () => {
    const raw = await plainTicket();
    for (const session of [raw, sessionWithoutPeer(raw)]) {
      await assert.rejects(flymeDial(session), (e: FlyMeError) => {
        assert.equal(e.data['reason'], 'no-certificate', e.message);
        return true;
      });
    }
  });
});
