// The server reads its client's leaf from the connection's session (session-peer.ts) instead of Node's
// getPeerCertificate(false) (~400 000 instructions per full handshake). The DER it reads is exactly the leaf the
// client presented, with or without intermediates, and reading it leaves the presented chain on the connection
// (getPeerX509Certificate would have taken the intermediates out). Malformed, truncated, mutated or
// peer-less sessions give undefined (the caller falls back), never a throw and never a partial certificate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { connect, createServer, type DetailedPeerCertificate, type Server, type TLSSocket } from 'node:tls';
import { createIntermediateCA, createRootCA, issueSvidWithKey, type CertificateAuthority } from '../../../src/identity/index.js';
import { sessionPeerCertificate } from '../../../src/identity/tls/session-peer.js';

const TD = 'session-peer.test';

describe('sessionPeerCertificate', () => {
  let root: CertificateAuthority;
  let server: Server;
  let port = 0;
  const accepted: TLSSocket[] = [];
  let next: ((s: TLSSocket) => void) | undefined;

  before(async () => {
    root = await createRootCA({ trustDomain: TD });
    const s = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/server` });
    server = createServer({ cert: s.certPem, key: s.keyPem, ca: root.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, (sock) => {
      accepted.push(sock);
      sock.on('error', () => undefined);
      next?.(sock);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  /** A full handshake with `client` (PEM chain + key, or none): the server side's socket. */
  async function serverSide(client?: { cert: string; key: string }): Promise<TLSSocket> {
    const got = new Promise<TLSSocket>((r) => { next = r; });
    const c = connect({ port, host: '127.0.0.1', ...(client ?? {}), ca: root.certPem, checkServerIdentity: () => undefined });
    c.on('error', () => undefined);
    await new Promise((r) => c.once('secureConnect', r));
    const s = await got;
    c.destroy();
    return s;
  }
  const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

  it('is the leaf the client presented, and the presented chain stays on the connection', async () => {
    const leafOnly = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/leaf-only` });
    let s = await serverSide({ cert: leafOnly.certPem, key: leafOnly.keyPem });
    assert.deepEqual(Buffer.from(sessionPeerCertificate(s.getSession()!)!), derOf(leafOnly.certPem));

    const mid = await createIntermediateCA(root);
    const underMid = await issueSvidWithKey(mid, { spiffeId: `spiffe://${TD}/under-mid` });
    s = await serverSide({ cert: underMid.chainPem, key: underMid.keyPem });
    const leaf = sessionPeerCertificate(s.getSession()!);
    assert.deepEqual(Buffer.from(leaf!), derOf(underMid.certPem), 'the leaf, not the intermediate');
    // Reading it took nothing from the connection: the detailed chain still holds the intermediate.
    const detailed = s.getPeerCertificate(true) as DetailedPeerCertificate;
    assert.deepEqual(detailed.raw, derOf(underMid.certPem));
    assert.deepEqual(detailed.issuerCertificate.raw, derOf(mid.certPem));
  });

  it('a session without a peer certificate gives undefined', async () => {
    const s = await serverSide();
    assert.ok(s.getSession()!.length > 0);
    assert.equal(sessionPeerCertificate(s.getSession()!), undefined);
  });

  it('malformed sessions give undefined or the exact certificate, never a throw', async () => {
    const client = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/fuzz` });
    const session = (await serverSide({ cert: client.certPem, key: client.keyPem })).getSession()!;
    const cert = derOf(client.certPem);
    assert.deepEqual(Buffer.from(sessionPeerCertificate(session)!), cert, 'control: the intact session');
    assert.equal(sessionPeerCertificate(new Uint8Array()), undefined);
    // Every truncation: the outer SEQUENCE no longer fits.
    for (let n = 0; n < session.length; n++) assert.equal(sessionPeerCertificate(session.subarray(0, n)), undefined, `truncated to ${n}`);
    // Another session version: not read.
    const v2 = Buffer.from(session);
    const versionAt = v2.indexOf(Buffer.from([0x02, 0x01, 0x01]));
    assert.ok(versionAt > 0 && versionAt < 6);
    v2[versionAt + 2] = 2;
    assert.equal(sessionPeerCertificate(v2), undefined);
    // Random mutations: whatever comes out is a whole DER SEQUENCE inside the buffer, or nothing.
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(session);
      for (let k = 0; k < 1 + randomInt(4); k++) m[randomInt(m.length)] = randomInt(256);
      const got = sessionPeerCertificate(m);
      if (got === undefined) continue;
      assert.equal(got[0], 0x30);
      assert.ok(got.byteOffset >= m.byteOffset && got.byteOffset + got.length <= m.byteOffset + m.length);
    }
  });
});
