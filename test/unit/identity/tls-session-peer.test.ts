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
import { sessionPeerCertificate, sessionWithoutPeer } from '../../../src/identity/tls/session-peer.js';

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

/** A DER element: tag, length (short or long form), contents. */
const tlv = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
};

describe('sessionWithoutPeer', () => {
  const version = tlv(0x02, Buffer.from([1]));
  const fields = Buffer.concat([version, tlv(0x02, Buffer.from([0x03, 0x04])), tlv(0x04, Buffer.alloc(2, 0x13)), tlv(0x04, Buffer.alloc(32, 7)), tlv(0x04, Buffer.alloc(48, 9)), tlv(0xa1, tlv(0x02, Buffer.from([0x65])))]);
  const after3 = Buffer.concat([tlv(0xa4, tlv(0x04, Buffer.alloc(4, 1))), tlv(0xa5, tlv(0x02, Buffer.from([0]))), tlv(0xaa, tlv(0x04, Buffer.alloc(300, 5)))]);
  const peer = (size: number) => tlv(0xa3, tlv(0x30, Buffer.alloc(size, 0x42)));

  it('leaves out exactly the [3] element, in every length form', () => {
    for (const certSize of [3, 20, 200, 600]) {
      for (const tail of [Buffer.alloc(0), after3]) {
        const want = tlv(0x30, Buffer.concat([fields, tail]));
        const session = tlv(0x30, Buffer.concat([fields, peer(certSize), tail]));
        assert.deepEqual(sessionWithoutPeer(session), want, `cert ${certSize} bytes, tail ${tail.length}`);
        assert.equal(sessionPeerCertificate(want), undefined);
        assert.equal(sessionWithoutPeer(want), want, 'no [3]: the same buffer');
      }
    }
    // Past [3] there is no peer certificate: a [3] after [4] is not one.
    const late = tlv(0x30, Buffer.concat([fields, after3, peer(20)]));
    assert.equal(sessionWithoutPeer(late), late);
    // The outer length shrinks from the two-byte to the one-byte and the short form.
    const small = tlv(0x30, Buffer.concat([version, peer(400)]));
    assert.deepEqual(sessionWithoutPeer(small), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]));
    const mid = tlv(0x30, Buffer.concat([fields, tlv(0x04, Buffer.alloc(60)), peer(400)]));
    assert.equal(mid[1], 0x82);
    assert.deepEqual(sessionWithoutPeer(mid), tlv(0x30, Buffer.concat([fields, tlv(0x04, Buffer.alloc(60))])));
    assert.equal(sessionWithoutPeer(mid)[1], 0x81);
  });

  it('a real client session: the server leaf out, every other byte kept', async () => {
    const root = await createRootCA({ trustDomain: TD });
    const s = await issueSvidWithKey(root, { spiffeId: `spiffe://${TD}/srv` });
    const server = createServer({ cert: s.certPem, key: s.keyPem, minVersion: 'TLSv1.3' }, (sock) => { sock.on('error', () => undefined); sock.end('hi'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const c = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', ca: root.certPem, checkServerIdentity: () => undefined });
      c.on('error', () => undefined);
      const session = await new Promise<Buffer>((r) => c.once('session', r));
      c.destroy();
      const leaf = sessionPeerCertificate(session)!;
      assert.ok(leaf, 'control: the client session holds the server leaf');
      const out = sessionWithoutPeer(session);
      assert.equal(sessionPeerCertificate(out), undefined);
      const at = session.indexOf(Buffer.from(leaf)) - 4; // [3] with a two-byte length, then the certificate
      assert.equal(session[at], 0xa3);
      const headerOut = out[1]! & 0x80 ? 2 + (out[1]! & 0x7f) : 2;
      const headerIn = session[1]! & 0x80 ? 2 + (session[1]! & 0x7f) : 2;
      assert.deepEqual(out.subarray(headerOut), Buffer.concat([session.subarray(headerIn, at), session.subarray(at + 4 + leaf.length)]));
    } finally {
      server.close();
    }
  });

  it('anything not in the expected form comes back as the same buffer, never a throw', async () => {
    const session = tlv(0x30, Buffer.concat([fields, peer(300), after3]));
    const stripped = sessionWithoutPeer(session);
    assert.notEqual(stripped, session, 'control: the intact session is rewritten');
    for (let n = 0; n < session.length; n++) {
      const cut = session.subarray(0, n);
      assert.equal(sessionWithoutPeer(cut), cut, `truncated to ${n}`);
    }
    const trailing = Buffer.concat([session, Buffer.from([0])]);
    assert.equal(sessionWithoutPeer(trailing), trailing, 'bytes after the outer SEQUENCE');
    const v2 = Buffer.from(session);
    v2[v2.indexOf(version) + 2] = 2;
    assert.equal(sessionWithoutPeer(v2), v2, 'another session version');
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(session);
      for (let k = 0; k < 1 + randomInt(4); k++) m[randomInt(m.length)] = randomInt(256);
      const got = sessionWithoutPeer(m);
      if (got === m) continue;
      // Rewritten: a whole SEQUENCE, shorter, with no [3] left in it.
      assert.equal(got[0], 0x30);
      assert.ok(got.length < m.length);
      assert.equal(sessionWithoutPeer(got), got);
    }
  });
});
