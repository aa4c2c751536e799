// A real 3-master, 3-replica TLS-only Redis Cluster: signed messages on channels whose slots are served by three
// different masters all arrive through sharded pub/sub (SPUBLISH/SSUBSCRIBE), each on its own shard; a pattern
// subscriber sees the cluster-wide broadcast (PUBLISH) and not the sharded messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ChannelAcl } from '../../src/auth/policy/index.js';
import { SecureRedis, SecureRedisClientBuilder } from '../../src/redis/index.js';
import { REDIS_SERVER } from '../helpers/redis.js';
import { clusterFixture } from '../helpers/redis-cluster.js';

const TD = 'flyme.local';
const acl = new ChannelAcl([
  { channel: 'orders.*', publish: [{ spiffeId: `spiffe://${TD}/orders` }], subscribe: [{ spiffeId: `spiffe://${TD}/watcher` }] },
]);

test('signed sharded pub/sub across three shards of a TLS Redis Cluster', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async () => {
  const fx = await clusterFixture(['watcher', 'orders']);
  const open: SecureRedis[] = [];
  try {
    const { cluster, dir } = fx;
    const channels = fx.channelsOnDistinctMasters('orders.', 3);
    assert.equal(new Set(channels.map((c) => c.slot)).size, 3, 'three different slots (CLUSTER KEYSLOT)');
    assert.equal(new Set(channels.map((c) => c.master)).size, 3, 'served by three different masters');
    // The library through the builder, seeds given as a list; the node certificates are checked against the redis SPIFFE ID.
    const watcher = await new SecureRedisClientBuilder().withTls(dir, { name: 'watcher', serverId: `spiffe://${TD}/redis` }).withAcl(acl).withCluster(cluster.urls.slice(0, 2)).build();
    open.push(watcher);
    const orders = await SecureRedis.connect({ url: cluster.urls[3]!, cluster: { seeds: [cluster.urls[4]!] }, certsDir: dir, name: 'orders', acl, serverId: `spiffe://${TD}/redis` });
    open.push(orders);
    const subs = await Promise.all(channels.map((c) => watcher.subscribe(c.channel)));
    // Another subscriber object: one object's replay cache would refuse the second copy of a message that
    // matches both its exact and its pattern subscription.
    // It reaches the announced nodes (127.0.0.1:port) through nodeAddressMap as localhost:port: the SPIFFE ID is
    // checked, not the name.
    const mapped = new Set<string>();
    const nodeAddressMap = (address: string) => { mapped.add(address); return { host: 'localhost', port: Number(address.split(':')[1]) }; };
    const watcher2 = await SecureRedis.connect({ url: cluster.urls[5]!, cluster: { nodeAddressMap }, certsDir: dir, name: 'watcher', acl, serverId: `spiffe://${TD}/redis` });
    open.push(watcher2);
    const pattern = await watcher2.subscribe('orders.*');

    for (const [i, c] of channels.entries()) {
      assert.equal(await orders.publish(c.channel, `order ${i}`), 1, `${c.channel}: one receiver on its shard`);
      // Sharded: the message is in the channel's shard only (PUBSUB SHARDNUMSUB is per node).
      for (const other of channels) {
        const n = Number(cluster.cli(other.master, ['PUBSUB', 'SHARDNUMSUB', c.channel]).trim().split('\n')[1]);
        assert.equal(n, other === c ? 1 : 0, `SSUBSCRIBE of ${c.channel} lives on ${c.master} only`);
      }
    }
    for (const [i, s] of subs.entries()) {
      const m = await s.next(5000);
      assert.deepEqual([m?.channel, m?.from, m?.payload], [channels[i]!.channel, `spiffe://${TD}/orders`, `order ${i}`]);
    }
    assert.equal(await pattern.next(300), undefined, 'SPUBLISH does not reach PSUBSCRIBE');
    // Broadcast (classic PUBLISH): the pattern subscriber and the exact subscriber both receive it, once each.
    await orders.publish(channels[0]!.channel, 'to everyone', { broadcast: true });
    assert.equal((await pattern.next(5000))?.payload, 'to everyone');
    assert.equal((await subs[0]!.next(5000))?.payload, 'to everyone');
    assert.equal(await subs[0]!.next(300), undefined, 'no second copy');
    assert.deepEqual([watcher.stats.rejected, watcher2.stats.rejected], [{}, {}]);
    assert.ok([...mapped].every((a) => /^127\.0\.0\.1:\d+$/.test(a)) && mapped.size > 0, `announced addresses mapped: ${[...mapped].join(', ')}`);
  } finally {
    for (const r of open) await r.close();
    await fx.close();
  }
});
