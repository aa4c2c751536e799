// The CA core: single-use join tokens, CA-chosen extensions whatever the CSR asks, agents confined to their
// own entries, revocation on entry deletion, persistence across a restart, intermediate rotation. Each
// refusal has a control that succeeds.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authority, initCaDir } from '../../../src/ca/index.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { FlyMeError } from '../../../src/errors.js';
import { checkSvid, generateKeyPair, TrustBundle, verifyChain, type CryptoKeyPair } from '../../../src/identity/index.js';
import { readBasicConstraints, readDnsSans, readExtendedKeyUsage, readKeyUsage, readUriSans } from '../../../src/identity/cert-fields.js';
import { x509 } from '../../../src/identity/x509.js';

const TD = 'ca.test';
const AGENT = `spiffe://${TD}/agent/host1`;
const OTHER_AGENT = `spiffe://${TD}/agent/host2`;
const is = (code: string, reason?: string) => (e: unknown) => e instanceof FlyMeError && e.code === code && (reason === undefined || e.data.reason === reason);

async function csr(extensions: x509.Extension[] = [], name = 'CN=whatever'): Promise<Uint8Array> {
  const keys = await generateKeyPair('P-256');
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions });
  return new Uint8Array(req.rawData);
}
const leafOf = (chain: Uint8Array[]) => new x509.X509Certificate(Uint8Array.from(chain[0]!));

describe('CA authority', () => {
  let dir: string;
  let ca: Authority;
  const events: SecurityEvent[] = [];
  const open = () => Authority.open({ dataDir: dir, events: { emit: (e) => events.push(e) } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyme-ca-'));
    await initCaDir(dir, { trustDomain: TD });
    ca = await open();
  });
  after(() => {
    ca.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a join token works once; reuse, an unknown and an expired token are refused and audited', async () => {
    const { token } = await ca.createJoinToken(AGENT, 600);
    const first = await ca.attestAgent(token, await csr());
    assert.equal(first.spiffeId, AGENT);
    await assert.rejects(ca.attestAgent(token, await csr()), is('FLYME_PERMISSION_DENIED'));
    await assert.rejects(ca.attestAgent('not-a-token', await csr()), is('FLYME_PERMISSION_DENIED'));
    const refused = events.filter((e) => e.kind === 'svid_refused').map((e) => e.message).join('\n');
    assert.match(refused, /already used/);
    assert.match(refused, /unknown token/);
    // The state file keeps only the hash of the token.
    assert.doesNotMatch(readFileSync(join(dir, 'state.json'), 'utf8'), new RegExp(token));
    const short = await ca.createJoinToken(OTHER_AGENT, 10);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { joinTokens: Array<{ expiresAt: number }> };
    assert.ok(state.joinTokens.length >= 2);
    await assert.rejects(ca.createJoinToken(`spiffe://${TD}/not-an-agent`), is('FLYME_INVALID_SPIFFE_ID'));
    await assert.rejects(ca.createJoinToken(`spiffe://other.td/agent/x`), is('FLYME_INVALID_SPIFFE_ID'));
    void short;
  });

  test('a CSR asking for cA=true, keyCertSign, extra SANs and its own subject yields a leaf with only CA-chosen extensions', async () => {
    const { token } = await ca.createJoinToken(`spiffe://${TD}/agent/evil`, 600);
    const evil = await csr([
      new x509.BasicConstraintsExtension(true, 5, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}/admin` }, { type: 'dns', value: 'evil.example' }, { type: 'url', value: 'spiffe://other.td/x' }]),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3']),
    ], 'CN=root, O=Evil');
    const issued = await ca.attestAgent(token, evil);
    const leaf = leafOf(issued.chain);
    assert.deepEqual(checkSvid(leaf), [], 'the leaf follows every X.509-SVID rule');
    assert.equal(readBasicConstraints(leaf).ca, false);
    assert.equal(readKeyUsage(leaf)!.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(readUriSans(leaf).uris, [`spiffe://${TD}/agent/evil`]);
    assert.deepEqual(readDnsSans(leaf), []);
    assert.deepEqual([...readExtendedKeyUsage(leaf)!].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.doesNotMatch(leaf.subject, /Evil|root/);
    assert.match(leaf.serialNumber.toLowerCase(), /^01[0-9a-f]{32}$/, '0x01 then 128 random bits (17 octets)');
    // A CSR whose signature does not match its key is refused (proof of possession); the token stays unused.
    const { token: t2 } = await ca.createJoinToken(`spiffe://${TD}/agent/pop`, 600);
    const good = await csr();
    const forged = Uint8Array.from(good);
    forged[forged.length - 3] ^= 0xff;
    await assert.rejects(ca.attestAgent(t2, forged), is('FLYME_PERMISSION_DENIED'));
    assert.equal((await ca.attestAgent(t2, good)).spiffeId, `spiffe://${TD}/agent/pop`, 'control: the same token with a valid CSR');
  });

  test('a CSR with an unsupported key (RSA) is refused without spending the join token', async () => {
    const { token } = await ca.createJoinToken(`spiffe://${TD}/agent/rsa`, 600);
    const rsa = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
    const req = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys: rsa, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } });
    await assert.rejects(ca.attestAgent(token, new Uint8Array(req.rawData)), is('FLYME_PERMISSION_DENIED'));
    assert.equal((await ca.attestAgent(token, await csr())).spiffeId, `spiffe://${TD}/agent/rsa`, 'the token is still good for a usable CSR');
  });

  test('no entry may take the CA\'s own ID or an /agent/ path', async () => {
    await assert.rejects(ca.createEntry({ spiffeId: `spiffe://${TD}/ca`, parentId: AGENT, selectors: ['unix:uid:0'] }), is('FLYME_INVALID_SPIFFE_ID'));
    await assert.rejects(ca.createEntry({ spiffeId: `spiffe://${TD}/agent/x/y`, parentId: AGENT, selectors: ['unix:uid:0'] }), is('FLYME_INVALID_SPIFFE_ID'));
    await ca.createEntry({ spiffeId: `spiffe://${TD}/ca/tool`, parentId: `spiffe://${TD}/agent/controls`, selectors: ['unix:uid:0'] }); // control
  });

  test('an agent gets only its own entries and may mint only for them', async () => {
    const { token } = await ca.createJoinToken(OTHER_AGENT, 600);
    await ca.attestAgent(token, await csr());
    const mine = await ca.createEntry({ spiffeId: `spiffe://${TD}/web`, parentId: AGENT, selectors: ['unix:uid:1000'] });
    const theirs = await ca.createEntry({ spiffeId: `spiffe://${TD}/db`, parentId: OTHER_AGENT, selectors: ['unix:uid:1001'], ttlSeconds: 60 });
    assert.deepEqual(ca.agentState(AGENT).entries.map((e) => e.id), [mine.id]);
    assert.deepEqual(ca.agentState(OTHER_AGENT).entries.map((e) => e.id), [theirs.id]);
    const s = await ca.mintX509(AGENT, mine.id, await csr());
    assert.match(leafOf(s.chain).serialNumber.toLowerCase(), /^01[0-9a-f]{32}$/);
    await assert.rejects(ca.mintX509(AGENT, theirs.id, await csr()), is('FLYME_PERMISSION_DENIED'));
    await assert.rejects(ca.mintJwt(AGENT, theirs.id, ['x']), is('FLYME_PERMISSION_DENIED'));
    await assert.rejects(ca.mintX509(`spiffe://${TD}/agent/never-attested`, mine.id, await csr()), is('FLYME_PERMISSION_DENIED'));
    const jwt = await ca.mintJwt(AGENT, mine.id, ['svc']);
    assert.equal(jwt.spiffeId, `spiffe://${TD}/web`);
    assert.ok(events.some((e) => e.kind === 'svid_refused' && /belongs to/.test(e.message)));
    await assert.rejects(ca.createEntry({ spiffeId: `spiffe://${TD}/web`, parentId: AGENT, selectors: ['unix:uid:1000'] }), is('FLYME_FILE_EXISTS'), 'no duplicate entries');
  });

  test('deleting an entry revokes its SVIDs: the revocation list reaches the agent state and verification refuses them', async () => {
    const e = await ca.createEntry({ spiffeId: `spiffe://${TD}/doomed`, parentId: AGENT, selectors: ['unix:uid:4242'] });
    const keep = await ca.createEntry({ spiffeId: `spiffe://${TD}/kept`, parentId: AGENT, selectors: ['unix:uid:4243'] });
    const doomed = await ca.mintX509(AGENT, e.id, await csr());
    const kept = await ca.mintX509(AGENT, keep.id, await csr());
    const pushed: number[] = [];
    const stop = ca.subscribe(AGENT, (s) => pushed.push(s.crls.length));
    const r = await ca.deleteEntry(e.id);
    stop();
    assert.equal(r.revoked, 1);
    assert.ok(pushed.at(-1)! >= 1, 'the agent was pushed a state with a revocation list');
    const state = ca.agentState(AGENT);
    assert.ok(!state.entries.some((x) => x.id === e.id));
    const bundle = TrustBundle.fromCertificates([ca.root], { crls: state.crls });
    const chain = (s: typeof doomed) => s.chain.map((c) => new x509.X509Certificate(Uint8Array.from(c)));
    const [dl, ...dmid] = chain(doomed);
    await assert.rejects(verifyChain(dl!, dmid, bundle), is('FLYME_UNTRUSTED_CERTIFICATE', 'revoked'));
    const [kl, ...kmid] = chain(kept);
    assert.equal((await verifyChain(kl!, kmid, bundle)).spiffeId.toString(), `spiffe://${TD}/kept`);
    await assert.rejects(ca.deleteEntry(e.id), is('FLYME_NOT_FOUND'));
    await assert.rejects(ca.mintX509(AGENT, e.id, await csr()), is('FLYME_PERMISSION_DENIED'));
  });

  test('a restarted CA keeps its root, its entries, its agents and never reuses a live serial', async () => {
    const before = ca.status();
    const entries = ca.listEntries().map((e) => e.id).sort();
    const serials = new Set((JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { issued: Array<{ serial: string }> }).issued.map((r) => r.serial));
    ca.close();
    ca = await open();
    assert.equal(ca.status().rootSerial, before.rootSerial);
    assert.equal(ca.status().intermediateSerial, before.intermediateSerial);
    assert.deepEqual(ca.listEntries().map((e) => e.id).sort(), entries);
    const web = ca.listEntries().find((e) => e.spiffeId === `spiffe://${TD}/web`)!;
    const again = await ca.mintX509(AGENT, web.id, await csr()); // the agent is still attested
    assert.ok(!serials.has(leafOf(again.chain).serialNumber.toLowerCase()));
    assert.ok(serials.size > 3);
  });
});

test('a CA whose state.json is missing refuses to start (its revocations would be forgotten)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-ca-nostate-'));
  try {
    await initCaDir(dir, { trustDomain: TD });
    const ok = await Authority.open({ dataDir: dir }); // control: a fresh CA has an (empty) state
    ok.close();
    rmSync(join(dir, 'state.json'));
    await assert.rejects(Authority.open({ dataDir: dir }), is('FLYME_INVALID_CONFIG'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the intermediate rotates before it expires; SVIDs of the old one still verify under the same root', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-ca-rot-'));
  try {
    await initCaDir(dir, { trustDomain: TD, intermediateHours: 6 / 3600 }); // 6 s: due for rotation after 4 s
    const events: SecurityEvent[] = [];
    const ca = await Authority.open({ dataDir: dir, events: { emit: (e) => events.push(e) }, intermediateHours: 6 / 3600, checkEveryMs: 250 });
    try {
      const { token } = await ca.createJoinToken(AGENT, 600);
      const old = await ca.attestAgent(token, await csr());
      const issuerOf = (s: typeof old) => new x509.X509Certificate(Uint8Array.from(s.chain[1]!)).serialNumber.toLowerCase();
      // The intermediate that signed `old` (on a slow machine it may already be the second one: the first is due
      // 4 s after initCaDir), then the next one.
      const first = issuerOf(old);
      for (const end = Date.now() + 8000; ca.status().intermediateSerial === first && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
      assert.notEqual(ca.status().intermediateSerial, first, 'rotated');
      assert.ok(events.some((e) => e.kind === 'ca_rotated'));
      const fresh = await ca.renewAgent(AGENT, await csr());
      assert.equal(issuerOf(fresh), ca.status().intermediateSerial);
      const bundle = TrustBundle.fromCertificates([ca.root]);
      for (const s of [old, fresh]) {
        const [l, ...mid] = s.chain.map((c) => new x509.X509Certificate(Uint8Array.from(c)));
        assert.equal((await verifyChain(l!, mid, bundle)).spiffeId.toString(), AGENT);
      }
    } finally {
      ca.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
