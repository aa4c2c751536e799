// Publish batching against a real redis-server: publishes issued in the same tick to one channel travel as one
// signed batch envelope (fewer Redis messages), arrive complete and in order; a message to another channel in
// between keeps the order; the size limit splits batches; `batch: false` sends one v1 envelope per message.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { createRootCA, issueSvidWithKey } from '../../../src/identity/index.js';
import { ChannelAcl } from '../../../src/auth/policy/index.js';
import { SecureRedis, type Subscription } from '../../../src/redis/index.js';
import { REDIS_SERVER, startRedis, type RedisServer } from '../../helpers/redis.js';

const TD = 'flyme.local';
const acl = new ChannelAcl([{ channel: 'orders.*', publish: [{ spiffeId: `spiffe://${TD}/orders` }], subscribe: [{ spiffeIdPrefix: `spiffe://${TD}/` }] }]);

describe('publish batching', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, () => {
  let dir: string;
  let redis: RedisServer;
  const open: Array<{ close(): Promise<unknown> }> = [];
  const connect = async (name: string, extra: Partial<Parameters<typeof SecureRedis.connect>[0]> = {}) => {
    const r = await SecureRedis.connect({ url: redis.url, certsDir: dir, name, acl, serverId: `spiffe://${TD}/redis`, ...extra });
    open.push(r);
    return r;
  };
  /** Raw Redis messages on orders.* (what travels), seen by a plain TLS client. */
  const rawCounter = async () => {
    const c = createClient({ url: redis.url, socket: { tls: true, ca: readFileSync(join(dir, 'root-ca.pem')), cert: readFileSync(join(dir, 'watcher.pem')), key: readFileSync(join(dir, 'watcher.key.pem')), checkServerIdentity: () => undefined } });
    await c.connect();
    open.push({ close: () => c.close() });
    const seen: string[] = [];
    await c.pSubscribe('orders.*', (m) => { seen.push(m); });
    return seen;
  };
  const take = async (sub: Subscription, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await sub.next(5000))?.payload ?? '(none)');
    return out;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyme-redis-batch-'));
    const ca = await createRootCA({ trustDomain: TD, days: 2 });
    writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'root-ca.key.pem'), ca.keyPem, { mode: 0o600 });
    for (const n of ['orders', 'watcher']) {
      const s = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/${n}`, days: 1 });
      writeFileSync(join(dir, `${n}.pem`), s.chainPem);
      writeFileSync(join(dir, `${n}.key.pem`), s.keyPem, { mode: 0o600 });
    }
    redis = await startRedis(dir, dir);
  });
  after(async () => {
    for (const r of open) await r.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ten publishes in one tick: one Redis message, ten verified messages in order, each publish resolves', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const raw = await rawCounter();
    const pub = await connect('orders');
    const sent = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const counts = await Promise.all(sent.map((p) => pub.publish('orders.eu', p)));
    assert.deepEqual(await take(sub, 10), sent);
    assert.ok(counts.every((n) => n === 2), `each publish resolves with the receivers of its batch: ${counts.join(',')}`);
    assert.equal(raw.length, 1);
    assert.equal(pub.stats.published, 10);
    await sub.close();
  });

  test('another channel in between keeps the order; a batch over maxMessageBytes is split, nothing lost', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const raw = await rawCounter();
    const pub = await connect('orders', { maxMessageBytes: 8192 });
    const order = ['eu:1', 'eu:2', 'us:3', 'eu:4'];
    await Promise.all(order.map((p) => pub.publish(`orders.${p.slice(0, 2)}`, p)));
    assert.deepEqual(await take(sub, 4), order);
    assert.equal(raw.length, 3);
    const big = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(1500, '.'));
    await Promise.all(big.map((p) => pub.publish('orders.eu', p)));
    assert.deepEqual(await take(sub, 10), big);
    assert.ok(raw.length - 3 > 1 && raw.length - 3 < 10, `split into a few envelopes: ${raw.length - 3}`);
    assert.ok(raw.every((r) => r.length <= 8192));
    await sub.close();
  });

  test('batch: false sends one envelope per message (for subscribers that predate batch envelopes)', async () => {
    const sub = await (await connect('watcher')).subscribe('orders.*');
    const raw = await rawCounter();
    const pub = await connect('orders', { batch: false });
    await Promise.all(['a', 'b', 'c'].map((p) => pub.publish('orders.eu', p)));
    assert.deepEqual(await take(sub, 3), ['a', 'b', 'c']);
    assert.equal(raw.length, 3);
    assert.ok(raw.every((r) => JSON.parse(Buffer.from(r.split('.')[1]!, 'base64url').toString()).v === 1));
    await sub.close();
  });
});
