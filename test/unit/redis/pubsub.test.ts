// Signed pub/sub against a real redis-server (TLS only, client certificates required): each attack is
// rejected by the subscriber (or refused by Redis) and each has a passing control.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { createCrl, createRootCA, issueSvidWithKey, loadCA, parseCertificates, parseSvid, parseTrustBundle, StaticX509Source } from '../../../src/identity/index.js';
import { ChannelAcl } from '../../../src/auth/policy/index.js';
import { SecureRedis, sealEnvelope, signerFromPem, type MessageRejected } from '../../../src/redis/index.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { FlyMeError } from '../../../src/errors.js';
import { REDIS_CLI, REDIS_SERVER, startRedis, type RedisServer } from '../../helpers/redis.js';

const TD = 'flyme.local';
const acl = new ChannelAcl([
  { channel: 'orders.*', publish: [{ spiffeId: `spiffe://${TD}/orders` }], subscribe: [{ spiffeIdPrefix: `spiffe://${TD}/` }] },
  { channel: 'audit', publish: [{ spiffeId: `spiffe://${TD}/orders` }], subscribe: [{ spiffeId: `spiffe://${TD}/watcher` }] },
]);

describe('secure Redis pub/sub', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, () => {
  let dir: string;
  let redis: RedisServer;
  const open: SecureRedis[] = [];
  const rejected: Array<{ reason: string; channel: string }> = [];
  const events: SecurityEvent[] = [];
  const connect = async (name: string, extra: Partial<Parameters<typeof SecureRedis.connect>[0]> = {}) => {
    const r = await SecureRedis.connect({
      url: redis.url, certsDir: dir, name, acl, serverId: `spiffe://${TD}/redis`,
      events: { emit: (e) => events.push(e) },
      onRejected: (e: MessageRejected, channel) => rejected.push({ reason: e.reason, channel }),
      ...extra,
    });
    open.push(r);
    return r;
  };
  const issue = async (name: string, validity: { days?: number; notBefore?: Date; notAfter?: Date } = { days: 1 }) => {
    const ca = await loadCA(dir);
    const s = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/${name}`, ...validity });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
    return s;
  };
  /** A raw TLS Redis connection with a valid certificate (the attacker is a legitimate Redis user). */
  const raw = async () => {
    const c = createClient({ url: redis.url, socket: { tls: true, ca: readFileSync(join(dir, 'root-ca.pem')), cert: readFileSync(join(dir, 'stranger.pem')), key: readFileSync(join(dir, 'stranger.key.pem')), checkServerIdentity: () => undefined } });
    await c.connect();
    return c;
  };
  const waitRejected = async (n: number) => { for (let i = 0; i < 100 && rejected.length < n; i++) await new Promise((r) => setTimeout(r, 20)); };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyme-redis-'));
    const ca = await createRootCA({ trustDomain: TD, days: 2 });
    writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'root-ca.key.pem'), ca.keyPem, { mode: 0o600 });
    for (const n of ['orders', 'watcher', 'stranger']) await issue(n);
    redis = await startRedis(dir, dir);
  });
  after(async () => {
    for (const r of open) await r.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('round trip: verified message with sender, payload and time (control for everything below)', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const pub = await connect('orders');
    assert.equal(await pub.publish('orders.eu', '{"id":1}', { contentType: 'application/json' }), 1);
    const m = await sub.next(5000);
    assert.ok(m);
    assert.equal(m.from, `spiffe://${TD}/orders`);
    assert.equal(m.channel, 'orders.eu');
    assert.equal(m.payload, '{"id":1}');
    assert.equal(m.contentType, 'application/json');
    assert.ok(Math.abs(m.sentAt.getTime() - Date.now()) < 5000);
    // Oversize is refused on the publishing side too (the subscriber's refusal is tested below).
    await assert.rejects(pub.publish('orders.eu', 'x'.repeat(1024 * 1024)), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_FRAME_TOO_LARGE');
    await sub.close();
  });

  test('a client without a certificate cannot connect; plain redis:// is refused without allowInsecure', async () => {
    const c = createClient({ url: redis.url, socket: { tls: true, ca: readFileSync(join(dir, 'root-ca.pem')), checkServerIdentity: () => undefined, reconnectStrategy: false } });
    c.on('error', () => {});
    await assert.rejects(c.connect().then(() => c.ping()));
    try { c.destroy(); } catch { /* never connected */ }
    await assert.rejects(SecureRedis.connect({ url: `redis://localhost:${redis.port}`, certsDir: dir, name: 'watcher', acl }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG');
  });

  test('subscribing to a channel the caller may not read fails fast', async () => {
    const stranger = await connect('stranger');
    await assert.rejects(stranger.subscribe('audit'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_PERMISSION_DENIED');
    await assert.rejects(stranger.publish('orders.eu', 'x'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_PERMISSION_DENIED');
    (await (await connect('watcher')).subscribe('audit')).close(); // control
  });

  test('a Redis failure surfaces as a FlyMeError, never a node-redis error class', async () => {
    const pub = await connect('orders');
    assert.ok(await pub.publish('orders.eu', 'control') >= 0, 'control: publishing works');
    await pub.close();
    await assert.rejects(pub.publish('orders.eu', 'after close'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_CONNECTION_CLOSED');
  });

  test('forged, replayed and misplaced envelopes are rejected; a valid one still arrives', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const attacker = await raw();
    const base = rejected.length;
    try {
      // Plain text published with redis-cli on the channel.
      const cli = spawnSync(REDIS_CLI, ['--tls', '--cacert', join(dir, 'root-ca.pem'), '--cert', join(dir, 'stranger.pem'), '--key', join(dir, 'stranger.key.pem'), '-h', 'localhost', '-p', String(redis.port), 'PUBLISH', 'orders.eu', 'plain text order'], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      await waitRejected(base + 1);
      // A valid envelope for orders.eu, captured and re-published on orders.us, then again on orders.eu.
      const orders = signerFromPem(`spiffe://${TD}/orders`, readFileSync(join(dir, 'orders.pem'), 'utf8'), readFileSync(join(dir, 'orders.key.pem'), 'utf8'));
      const env = await sealEnvelope(orders, 'orders.eu', 'pay 10');
      await attacker.publish('orders.eu', env); // delivered once (control)
      assert.equal((await sub.next(5000))?.payload, 'pay 10');
      await attacker.publish('orders.us', env);
      await attacker.publish('orders.eu', env);
      await waitRejected(base + 3);
      // Signed by an identity the ACL does not allow on the channel.
      const stranger = signerFromPem(`spiffe://${TD}/stranger`, readFileSync(join(dir, 'stranger.pem'), 'utf8'), readFileSync(join(dir, 'stranger.key.pem'), 'utf8'));
      await attacker.publish('orders.eu', await sealEnvelope(stranger, 'orders.eu', 'steal'));
      // Signed with an expired certificate of an allowed identity.
      const old = await issueSvidWithKey(await loadCA(dir), { spiffeId: `spiffe://${TD}/orders`, notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
      await attacker.publish('orders.eu', await sealEnvelope(signerFromPem(`spiffe://${TD}/orders`, old.chainPem, old.keyPem), 'orders.eu', 'stale key'));
      // Signed by a certificate from another CA.
      const other = await issueSvidWithKey(await createRootCA({ trustDomain: TD, days: 1 }), { spiffeId: `spiffe://${TD}/orders`, days: 1 });
      await attacker.publish('orders.eu', await sealEnvelope(signerFromPem(`spiffe://${TD}/orders`, other.chainPem, other.keyPem), 'orders.eu', 'fake'));
      // Payload swapped under a valid signature.
      const parts = (await sealEnvelope(orders, 'orders.eu', 'pay 10')).split('.');
      const body = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
      body.payload = 'pay 1000';
      await attacker.publish('orders.eu', [parts[0], Buffer.from(JSON.stringify(body)).toString('base64url'), parts[2]].join('.'));
      // Oversize.
      await attacker.publish('orders.eu', 'x'.repeat(1024 * 1024 + 10));
      await waitRejected(base + 8);
      // Verification is asynchronous, so rejections may be reported out of publish order.
      assert.deepEqual(rejected.slice(base).map((r) => `${r.channel}:${r.reason}`).sort(), [
        'orders.eu:malformed', 'orders.us:wrong-channel', 'orders.eu:replayed', 'orders.eu:not-allowed',
        'orders.eu:untrusted-signer', 'orders.eu:untrusted-signer', 'orders.eu:bad-signature', 'orders.eu:oversize',
      ].sort());
      // None was delivered; a fresh valid one is.
      await (await connect('orders')).publish('orders.eu', 'legit');
      assert.equal((await sub.next(5000))?.payload, 'legit');
      assert.ok(events.some((e) => e.kind === 'message_rejected' && e.source === 'redis' && e.reason === 'replayed'));
    } finally {
      await attacker.close();
      await sub.close();
    }
  });

  test('a token in the envelope grants a role the ACL names; the same token under another signer is refused', async () => {
    const { TokenIssuer, TokenVerifier, RoleConfig } = await import('../../../src/auth/index.js');
    const { envelopeTokenRoles } = await import('../../../src/redis/index.js');
    const { exportJWK, generateKeyPair } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const issuer = await TokenIssuer.create({ key: { ...(await exportJWK(privateKey)), kid: 'r1', alg: 'ES256' }, issuer: 'ci' });
    const verifier = new TokenVerifier({ keys: { keys: [{ ...(await exportJWK(publicKey)), kid: 'r1', alg: 'ES256' }] }, issuer: 'ci', audience: 'pubsub' });
    const roleAcl = new ChannelAcl([{ channel: 'jobs', publish: [{ role: 'jobs.writer' }], subscribe: [{ spiffeId: `spiffe://${TD}/watcher` }] }]);
    const tokenRoles = envelopeTokenRoles(verifier, RoleConfig.fromObject({ ci: { builder: ['jobs.writer'] } }));
    const sub = await (await connect('watcher', { acl: roleAcl, tokenRoles })).subscribe('jobs');
    const base = rejected.length;
    const token = await issuer.issue({ sub: 'builder', aud: 'pubsub', roles: ['jobs.writer'], ttlSeconds: 300 });
    const pub = await connect('stranger', { acl: roleAcl, jwt: token });
    await pub.publish('jobs', 'build #7');
    const m = await sub.next(5000);
    assert.equal(m?.payload, 'build #7');
    assert.deepEqual(m?.roles, ['jobs.writer']);
    // Without a token the same signer is not allowed (control of the grant).
    const attacker = await raw();
    const stranger = signerFromPem(`spiffe://${TD}/stranger`, readFileSync(join(dir, 'stranger.pem'), 'utf8'), readFileSync(join(dir, 'stranger.key.pem'), 'utf8'));
    await attacker.publish('jobs', await sealEnvelope(stranger, 'jobs', 'no token'));
    // The token lifted into another signer's envelope: bound to the first signer → refused.
    const orders = signerFromPem(`spiffe://${TD}/orders`, readFileSync(join(dir, 'orders.pem'), 'utf8'), readFileSync(join(dir, 'orders.key.pem'), 'utf8'));
    await attacker.publish('jobs', await sealEnvelope(orders, 'jobs', 'stolen token', { jwt: token }));
    await attacker.close();
    await waitRejected(base + 2);
    assert.deepEqual(rejected.slice(base).map((r) => r.reason).sort(), ['bad-token', 'not-allowed']);
    await sub.close();
  });

  test('Redis restarts mid-stream: the subscriber reconnects, resubscribes and keeps verifying', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const pub = await connect('orders');
    await pub.publish('orders.eu', 'before');
    assert.equal((await sub.next(5000))?.payload, 'before');
    await redis.stop();
    await redis.restart();
    let got: string | undefined;
    for (let i = 0; i < 60 && got === undefined; i++) {
      await pub.publish('orders.eu', 'after').catch(() => 0);
      got = (await sub.next(500))?.payload;
    }
    assert.equal(got, 'after');
    const base = rejected.length;
    const attacker = await raw();
    await attacker.publish('orders.eu', 'plain after restart');
    await attacker.close();
    await waitRejected(base + 1);
    assert.equal(rejected.at(-1)?.reason, 'malformed', 'still verifying after the restart');
    await sub.close();
  });
  test('identity changes reach subscribers: an expired publisher and a revoked one are refused from their next message; a valid publisher is the control', async () => {
    const rootPem = readFileSync(join(dir, 'root-ca.pem'), 'utf8');
    const ca = await loadCA(dir);
    // A subscriber whose identity source can be updated (a revocation list arrives with a bundle update).
    const watcher = await parseSvid(readFileSync(join(dir, 'watcher.pem'), 'utf8'), readFileSync(join(dir, 'watcher.key.pem'), 'utf8'));
    const subSource = await StaticX509Source.create({ svids: [watcher], bundle: parseTrustBundle(rootPem) });
    const sub = await (await connect('watcher', { certsDir: undefined, source: subSource })).subscribe('orders.*');
    const got: string[] = [];
    void (async () => { for await (const m of sub) got.push(m.payload); })();
    const waitGot = async (p: string) => { for (let i = 0; i < 100 && !got.includes(p); i++) await new Promise((r) => setTimeout(r, 20)); return got.includes(p); };

    // Expiry: the publisher's SVID lives 2.5 s.
    const expiresAt = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000);
    const short = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/orders`, notAfter: expiresAt });
    const shortSource = await StaticX509Source.create({ svids: [await parseSvid(short.chainPem, short.keyPem)], bundle: parseTrustBundle(rootPem) });
    const shortPub = await connect('orders', { certsDir: undefined, source: shortSource });
    await shortPub.publish('orders.eu', 'before-expiry');
    assert.ok(await waitGot('before-expiry'), 'control: delivered while valid');
    await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 300));
    const base = rejected.length;
    await shortPub.publish('orders.eu', 'after-expiry');
    await waitRejected(base + 1);
    assert.equal(rejected.at(-1)?.reason, 'untrusted-signer');
    assert.ok(!got.includes('after-expiry'));

    // Revocation: the regular 'orders' identity is revoked by a CRL in the subscriber's bundle update.
    const pub = await connect('orders');
    await pub.publish('orders.eu', 'before-revocation');
    assert.ok(await waitGot('before-revocation'), 'control: delivered before the revocation');
    const orders = parseCertificates(readFileSync(join(dir, 'orders.pem'), 'utf8'))[0]!;
    await subSource.set({ bundle: subSource.bundle().withCrls([await createCrl(ca, [orders.serialNumber])]) });
    await pub.publish('orders.eu', 'after-revocation');
    await waitRejected(base + 2);
    assert.equal(rejected.at(-1)?.reason, 'untrusted-signer');
    assert.ok(!got.includes('after-revocation'));
    await sub.close();
  });
});
