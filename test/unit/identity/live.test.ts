// Rotation and revocation reach live mTLS connections: a connection whose client certificate expires is
// closed by the next sweep, and a bundle update (a revocation list added, a root removed) closes exactly the
// connections whose peers no longer verify. Each case keeps a control connection that stays open and works.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Client } from '../../../src/client.js';
import { RpcServer, Type } from '../../../src/server.js';
import {
  authorizeAny, createCrl, createIntermediateCA, createRootCA, issueSvidWithKey, parseSvid, StaticX509Source, TrustBundle,
  type CertificateAuthority,
} from '../../../src/identity/index.js';
import { TlsServerUpgrader, type InvalidatedPeer } from '../../../src/identity/tls/index.js';
import { sleep, tempSocket } from '../rpc/helpers.js';

const TD = 'live.test';

async function sourceFor(ca: CertificateAuthority, id: string, roots: CertificateAuthority[], o: { notAfter?: Date } = {}): Promise<StaticX509Source> {
  const s = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/${id}`, ...(o.notAfter ? { notAfter: o.notAfter } : { days: 1 }) });
  return StaticX509Source.create({ svids: [await parseSvid(s.chainPem, s.keyPem)], bundle: TrustBundle.fromCertificates(roots.map((r) => r.cert)) }, { verifyOwn: false });
}

describe('live mTLS connections follow expiry and bundle updates', () => {
  let rootA: CertificateAuthority;
  let rootB: CertificateAuthority;
  let midA: CertificateAuthority;
  let server: RpcServer;
  let serverSource: StaticX509Source;
  let upgrader: TlsServerUpgrader;
  const invalidated: InvalidatedPeer[] = [];
  const sock = tempSocket();
  const url = sock.url.replace('unix://', 'unix+tls://');
  const dial = async (source: StaticX509Source): Promise<Client> => connect(url, { x509Source: source, serverId: `spiffe://${TD}/server`, callTimeoutMs: 3000 });
  const alive = async (c: Client): Promise<boolean> => c.call('echo', { v: 1 }).then(() => true, () => false);

  before(async () => {
    rootA = await createRootCA({ trustDomain: TD });
    rootB = await createRootCA({ trustDomain: TD, commonName: 'Other Root' });
    midA = await createIntermediateCA(rootA);
    serverSource = await sourceFor(midA, 'server', [rootA, rootB]);
    upgrader = new TlsServerUpgrader({
      source: serverSource, authorizer: authorizeAny(), sweepMs: 200,
      onPeerInvalidated: (p) => { invalidated.push(p); p.socket.destroy(); },
    });
    server = new RpcServer({ authorize: () => undefined });
    server.method({ name: 'echo', permission: 'echo', params: Type.Object({ v: Type.Number() }), handler: ({ v }) => ({ v }) });
    await server.listen(url, { secure: upgrader });
  });
  after(async () => {
    await server.close(0);
    upgrader.close();
    sock.cleanup();
  });

  test('a client certificate that expires closes its connection within the sweep; a valid one stays', async () => {
    const short = await dial(await sourceFor(midA, 'short', [rootA], { notAfter: new Date(Date.now() + 2500) }));
    const long = await dial(await sourceFor(midA, 'long', [rootA]));
    assert.equal(await alive(short), true, 'control: the short-lived certificate works before it expires');
    const expiredAt = Math.floor((Date.now() + 2500) / 1000) * 1000; // X.509 times have second precision
    for (const end = Date.now() + 6000; !short.closed && Date.now() < end;) await sleep(50);
    assert.equal(short.closed, true, 'the expired peer was disconnected');
    assert.ok(Date.now() - expiredAt < 2000, `closed ${Date.now() - expiredAt} ms after expiry`);
    assert.equal(invalidated.at(-1)?.error.code, 'FLYME_CERT_EXPIRED');
    assert.equal(invalidated.at(-1)?.cert.spiffeId, `spiffe://${TD}/short`);
    assert.equal(await alive(long), true, 'the valid peer keeps its connection');
    await long.close();
  });

  test('a revocation list in a bundle update closes the revoked peer at once; others stay', async () => {
    const aSource = await sourceFor(midA, 'a', [rootA]);
    const a = await dial(aSource);
    const b = await dial(await sourceFor(midA, 'b', [rootA]));
    assert.equal(await alive(a), true);
    const crl = await createCrl(midA, [aSource.svid().chain[0]!.serialNumber]);
    await serverSource.set({ bundle: serverSource.bundle().withCrls([crl]) });
    for (const end = Date.now() + 3000; !a.closed && Date.now() < end;) await sleep(20);
    assert.equal(a.closed, true, 'the revoked peer was disconnected');
    assert.equal(invalidated.at(-1)?.error.data.reason, 'revoked');
    assert.equal(await alive(b), true, 'an unrevoked peer keeps its connection');
    // TLS 1.3: the client finishes its side before the server has judged its certificate, so the refusal
    // shows as the connection closing before the first answer.
    const again = await dial(aSource).catch(() => undefined);
    assert.equal(again ? await alive(again) : false, false, 'a new connection with the revoked certificate is refused');
    await b.close();
    await serverSource.set({ bundle: serverSource.bundle().withCrls([]) });
  });

  test('a root removed from the bundle closes the peers it anchored; peers of the remaining root stay', async () => {
    const underB = await dial(await sourceFor(rootB, 'b-client', [rootA, rootB]));
    const underA = await dial(await sourceFor(midA, 'a-client', [rootA]));
    assert.equal(await alive(underB), true);
    await serverSource.set({ bundle: TrustBundle.fromCertificates([rootA.cert]) });
    for (const end = Date.now() + 3000; !underB.closed && Date.now() < end;) await sleep(20);
    assert.equal(underB.closed, true, 'the peer of the removed root was disconnected');
    assert.equal(invalidated.at(-1)?.error.code, 'FLYME_UNTRUSTED_CERTIFICATE');
    assert.equal(await alive(underA), true);
    await underA.close();
  });

  test('an update the source refuses (server SVID no longer verifies) changes nothing', async () => {
    const before = serverSource.bundle();
    const c = await dial(await sourceFor(midA, 'c', [rootA]));
    await assert.rejects(serverSource.set({ bundle: TrustBundle.fromCertificates([rootB.cert]) }), (e: { code?: string }) => e.code === 'FLYME_INVALID_CONFIG');
    assert.equal(serverSource.bundle(), before);
    assert.equal(await alive(c), true);
    await c.close();
  });
});
