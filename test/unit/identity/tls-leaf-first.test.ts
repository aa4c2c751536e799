// Full mTLS handshakes: the server verifies the client from its leaf first (read from the session) and reads the
// presented chain (getPeerCertificate(true), ~0.3 ms) only when the leaf does not verify alone; the client reuses the
// detailed certificate Node built for checkServerIdentity instead of building it again. An SVID under an
// intermediate still connects (both ways, also the second time, when its leaf is remembered as needing its chain),
// a leaf whose intermediate is not presented is still refused, the cheap path is taken for a leaf issued by a
// root, and a live connection is re-verified against the chain its peer presented.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { FlyMeError } from '../../../src/errors.js';
import { authorizeId, authorizeMemberOf, createIntermediateCA, createRootCA, issueSvidWithKey, TrustBundle, type CertificateAuthority } from '../../../src/identity/index.js';
import { dialTls, TlsServerUpgrader } from '../../../src/identity/tls/index.js';
import { tempDir } from './fixtures.js';

const TD = 'leaf-first.test';
const SERVER_ID = `spiffe://${TD}/server`;

describe('mTLS: leaf first, presented chain when needed', () => {
  const { dir, cleanup } = tempDir('flyme-leaf-first-');
  let root: CertificateAuthority;
  let mid: CertificateAuthority;
  const rootPath = join(dir, 'root.pem');
  const servers: Array<{ server: Server; upgrader: TlsServerUpgrader }> = [];
  const accepted: Array<{ spiffeId: string; socket: TLSSocket }> = [];
  const refused: FlyMeError[] = [];

  async function files(ca: CertificateAuthority, id: string, name: string, leafOnly = false): Promise<{ certPath: string; keyPath: string }> {
    const s = await issueSvidWithKey(ca, { spiffeId: id });
    const f = { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`) };
    writeFileSync(f.certPath, leafOnly ? s.certPem : s.chainPem);
    writeFileSync(f.keyPath, s.keyPem, { mode: 0o600 });
    return f;
  }

  async function serve(ca: CertificateAuthority, name: string): Promise<{ url: string; upgrader: TlsServerUpgrader }> {
    const upgrader = await TlsServerUpgrader.load({ ...(await files(ca, SERVER_ID, name)), caPaths: [rootPath], authorizer: authorizeMemberOf(TD) });
    const path = join(dir, `${name}.sock`);
    const server = createServer((raw) => {
      upgrader.upgrade(raw).then(({ socket, cert }) => { accepted.push({ spiffeId: cert!.spiffeId, socket }); }, (e: FlyMeError) => { refused.push(e); });
    });
    await new Promise<void>((r) => server.listen(path, r));
    servers.push({ server, upgrader });
    return { url: `unix+tls://${path}`, upgrader };
  }

  const dial = (url: string, f: { certPath: string; keyPath: string }) => dialTls(url, { ...f, caPaths: [rootPath], serverAuthorizer: authorizeId(SERVER_ID) });
  async function acceptedAs(n: number): Promise<string> {
    for (let i = 0; i < 300 && accepted.length + refused.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(refused.length, 0, `refused: ${refused.map((e) => e.message).join('; ')}`);
    return accepted[n - 1]!.spiffeId;
  }

  before(async () => {
    root = await createRootCA({ trustDomain: TD });
    mid = await createIntermediateCA(root);
    writeFileSync(rootPath, root.certPem);
  });
  after(() => {
    for (const { server, upgrader } of servers) { server.close(); upgrader.close(); }
    for (const a of accepted) a.socket.destroy();
    cleanup();
  });

  it('an SVID under an intermediate connects both ways, also a second time; without its intermediate it is refused', async () => {
    const { url } = await serve(mid, 'server-mid');
    const client = await files(mid, `spiffe://${TD}/client-mid`, 'client-mid');
    for (let i = 1; i <= 2; i++) {
      const s = await dial(url, client);
      assert.equal(await acceptedAs(i), `spiffe://${TD}/client-mid`);
      s.destroy();
    }
    // Attack: the same kind of leaf, its intermediate left out: no path to the root, from the leaf or the chain.
    const orphan = await files(mid, `spiffe://${TD}/orphan`, 'orphan', true);
    const before = refused.length;
    await dial(url, orphan).then((s) => s.destroy(), () => undefined);
    for (let i = 0; i < 300 && refused.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(refused.length, before + 1, 'the server must refuse a leaf whose intermediate is missing');
    refused.length = before;
    assert.ok(!accepted.some((a) => a.spiffeId.endsWith('/orphan')));
  });

  it('a leaf issued by a root is verified without the detailed chain; a recheck reads the chain the peer presented', async () => {
    const { url, upgrader } = await serve(root, 'server-root');
    const client = await files(root, `spiffe://${TD}/client-root`, 'client-root');
    const detailed = TLSSocket.prototype.getPeerCertificate;
    const detailedCalls = { server: 0, client: 0 };
    const abbreviatedCalls = { server: 0, client: 0 };
    TLSSocket.prototype.getPeerCertificate = function (this: TLSSocket, d?: boolean) {
      (d === true ? detailedCalls : abbreviatedCalls)[(this as unknown as { _tlsOptions?: { isServer?: boolean } })._tlsOptions?.isServer ? 'server' : 'client']++;
      return detailed.call(this, d as true);
    } as typeof detailed;
    const n = accepted.length + 1;
    let s: TLSSocket;
    try {
      s = await dial(url, client);
      assert.equal(await acceptedAs(n), `spiffe://${TD}/client-root`);
    } finally {
      TLSSocket.prototype.getPeerCertificate = detailed;
    }
    assert.equal(detailedCalls.server, 0, 'the server should not build the detailed chain for a leaf issued by a root');
    // Nor describe the leaf (getPeerCertificate(false): fingerprints, public key): it reads it from the session.
    assert.equal(abbreviatedCalls.server, 0, 'the server should read the leaf from the session, not describe it');
    // Node's client builds it once for checkServerIdentity whatever the callback does; FlyMe reuses that one.
    assert.equal(detailedCalls.client, 1, 'the client should build the detailed chain once (Node\'s own call)');
    // The live connection is re-verified against what its peer presented (read from the socket now): it stays
    // under the same root, and (control) goes when the bundle no longer holds that root.
    assert.equal(await upgrader.live.recheck(upgrader.bundle), 0);
    assert.equal(accepted[n - 1]!.socket.destroyed, false);
    const other = await createRootCA({ trustDomain: TD });
    assert.equal(await upgrader.live.recheck(TrustBundle.fromCertificates([other.cert])), 1);
    s.destroy();
  });
});
