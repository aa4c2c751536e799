// Failover on a real TLS Redis Cluster: the master serving a channel's slot is killed mid-stream; after a replica
// takes over, the subscriber keeps receiving (its sharded subscription moves to the new master), no message id is
// delivered twice, losses are counted, and an envelope captured before the failover is still refused as a replay
// afterwards (the replay cache survives the reconnection) while a fresh one is delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelAcl } from '../../src/auth/policy/index.js';
import { SecureRedis, sealEnvelope, signerFromPem, type MessageRejected, type Subscription } from '../../src/redis/index.js';
import { REDIS_SERVER } from '../helpers/redis.js';
import { clusterFixture } from '../helpers/redis-cluster.js';

const TD = 'flyme.local';
const acl = new ChannelAcl([
  { channel: 'orders.*', publish: [{ spiffeId: `spiffe://${TD}/orders` }], subscribe: [{ spiffeId: `spiffe://${TD}/watcher` }] },
]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collect `id` payloads of a subscription: how many times each arrived. */
function collect(sub: Subscription): Map<number, number> {
  const seen = new Map<number, number>();
  void (async () => { for await (const m of sub) { const id = Number(m.payload); seen.set(id, (seen.get(id) ?? 0) + 1); } })();
  return seen;
}

test('a subscriber keeps receiving across a master failover, never twice, and still refuses replays', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async (t) => {
  const fx = await clusterFixture(['stranger', 'watcher', 'orders'], { nodeTimeoutMs: 1000 });
  const open: SecureRedis[] = [];
  try {
    const { cluster, dir } = fx;
    const [hit, calm] = fx.channelsOnDistinctMasters('orders.', 2) as [{ channel: string; slot: number; master: number }, { channel: string; slot: number; master: number }];
    const rejected: string[] = [];
    const connect = async (name: string, extra: Partial<Parameters<typeof SecureRedis.connect>[0]> = {}) => {
      const r = await SecureRedis.connect({ url: cluster.urls[0]!, cluster: { seeds: cluster.urls.slice(1) }, certsDir: dir, name, acl, serverId: `spiffe://${TD}/redis`, ...extra });
      open.push(r);
      return r;
    };
    const watcher = await connect('watcher', { onRejected: (e: MessageRejected, channel) => rejected.push(`${channel}:${e.reason}`) });
    const onHit = collect(await watcher.subscribe(hit.channel));
    const onCalm = collect(await watcher.subscribe(calm.channel));
    const orders = await connect('orders', { cluster: { seeds: cluster.urls.slice(1), publishTimeoutMs: 8000 } });

    // The attacker's capture: a valid envelope for the channel, delivered once before the failover (control).
    const signer = signerFromPem(`spiffe://${TD}/orders`, readFileSync(join(dir, 'orders.pem'), 'utf8'), readFileSync(join(dir, 'orders.key.pem'), 'utf8'));
    const captured = await sealEnvelope(signer, hit.channel, '-1');
    const spublish = (env: string) => cluster.cli(cluster.masterOf(hit.slot), ['SPUBLISH', hit.channel, env], fx.tls('stranger'));
    assert.equal(spublish(captured).trim(), '1');

    // The stream: one message every 20 ms on each channel, ids in the payload; publish outcomes recorded.
    const outcome = new Map<number, number | string>();
    const pending: Array<Promise<unknown>> = [];
    let next = 0;
    let stop = false;
    const stream = (async () => {
      while (!stop) {
        const id = next++;
        pending.push(orders.publish(hit.channel, String(id)).then((n) => outcome.set(id, n), (e: { code?: string }) => outcome.set(id, e.code ?? 'error')));
        pending.push(orders.publish(calm.channel, String(id)).catch(() => {}));
        await sleep(20);
      }
    })();
    const until = async (cond: () => boolean, what: string) => { for (let i = 0; !cond(); i++) { if (i > 1500) throw new Error(`timed out: ${what}`); await sleep(20); } };
    await until(() => onHit.size >= 20, '20 messages before the kill');
    const killedAt = next;
    await cluster.nodes.find((n) => n.port === hit.master)!.kill();
    const newMaster = await cluster.waitFailover(hit.slot, hit.master);
    assert.notEqual(newMaster, hit.master);
    const failedOverAt = next;
    // The subscriber keeps receiving: ids published after the failover arrive on the channel whose master died.
    await until(() => [...onHit.keys()].filter((id) => id > failedOverAt).length >= 20, '20 messages after the failover');
    // Both sides now use the new master: from here on nothing may be lost.
    const recoveredAt = next;
    await until(() => [...onHit.keys()].filter((id) => id >= recoveredAt).length >= 20, '20 messages after the recovery');
    stop = true;
    await stream;
    await Promise.all(pending);
    await sleep(300); // in-flight deliveries
    const sent = next;

    const twice = [...onHit, ...onCalm].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no message id delivered twice');
    const lost = Array.from({ length: sent }, (_, id) => id).filter((id) => !onHit.has(id));
    t.diagnostic(`${sent} messages; killed at ${killedAt}, failover done by ${failedOverAt}, recovered by ${recoveredAt}; lost ${lost.length} (${lost.join(',')}); publish errors ${[...outcome.values()].filter((v) => typeof v === 'string').length}`);
    // Every loss is from the gap: nothing published before the kill or after the recovery is lost.
    assert.ok(lost.every((id) => id >= killedAt - 2 && id < recoveredAt), `lost outside the failover gap: ${lost.join(',')}`);
    // A message that Redis says reached a subscriber was delivered (counted receivers are real deliveries).
    assert.deepEqual([...outcome].filter(([id, n]) => typeof n === 'number' && n > 0 && !onHit.has(id)).map(([id]) => id), []);
    assert.deepEqual([...onHit.keys()].filter((id) => id >= sent), [], 'nothing delivered that was not sent');
    // The channel on a surviving master never stopped.
    assert.deepEqual(Array.from({ length: sent }, (_, id) => id).filter((id) => !onCalm.has(id)), [], 'no loss on the other shard');

    // Replay across the failover: the captured envelope on the new master is refused; a fresh one arrives.
    const before = rejected.length;
    assert.equal(spublish(captured).trim(), '1', 'Redis delivered it to the subscriber');
    await until(() => rejected.length > before, 'the replay rejected');
    assert.deepEqual(rejected.slice(before), [`${hit.channel}:replayed`]);
    spublish(await sealEnvelope(signer, hit.channel, String(sent)));
    await until(() => onHit.has(sent), 'a fresh envelope delivered after the failover (control)');
    assert.equal(onHit.get(-1), 1, 'the captured envelope was delivered exactly once, before the failover');
    assert.deepEqual(rejected.filter((r) => !r.endsWith(':replayed')), [], 'nothing else rejected');
  } finally {
    for (const r of open) await r.close();
    await fx.close();
  }
});
