// `flyme sub --cluster` on a real TLS Redis Cluster prints what `flyme pub --cluster` signed, and refuses what an
// attacker with a valid Redis client certificate SPUBLISHes with redis-cli on the channel's shard: plain text, an
// envelope signed by a key from outside the FlyMe CA, and the publisher's genuine certificate with a foreign key's signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { FLYME, runCli } from '../helpers/daemon.js';
import { REDIS_SERVER } from '../helpers/redis.js';
import { clusterFixture } from '../helpers/redis-cluster.js';
import { createRootCA, issueSvidWithKey } from '../../src/identity/index.js';
import { sealEnvelope, signerFromPem } from '../../src/redis/index.js';

const TD = 'flyme.local';

test('flyme pub/sub --cluster: signed messages printed, redis-cli SPUBLISH forgeries refused', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async () => {
  const fx = await clusterFixture(['stranger', 'client', 'orders']);
  const { cluster, dir } = fx;
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles: {}
channels:
  - channel: "orders.*"
    publish: [{ spiffeId: "spiffe://${TD}/orders" }]
    subscribe: [{ spiffeId: "spiffe://${TD}/client" }]
`);
  const { channel, slot } = fx.channelsOnDistinctMasters('orders.', 1)[0]!;
  const common = ['--policy', policy, '--server-id', `spiffe://${TD}/redis`, '--cluster'];
  const sub = spawn(process.execPath, [FLYME, '--json', '--certs', dir, 'sub', channel, '--redis', cluster.urls[0]!, '--redis', cluster.urls[1]!, ...common], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  sub.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  sub.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const until = async (cond: () => boolean) => { for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25)); };
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { channel: string; from: string; payload: string });
  const spublish = (message: string) => cluster.cli(cluster.masterOf(slot), ['SPUBLISH', channel, message], fx.tls('stranger')).trim();
  try {
    await until(() => err.includes('subscribed'));
    assert.match(err, new RegExp(`subscribed to ${channel.replace('.', '\\.')} as spiffe://${TD}/client`));
    const pub = await runCli(['--certs', dir, 'pub', channel, 'order #1', '--name', 'orders', '--redis', cluster.urls[4]!, ...common]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stderr, /\(1 receivers\)/);
    await until(() => lines().length === 1);
    assert.deepEqual(lines().map((m) => [m.channel, m.from, m.payload]), [[channel, `spiffe://${TD}/orders`, 'order #1']]);

    // Forgeries, each reaching the subscriber (SPUBLISH answers 1 receiver) and each refused.
    assert.equal(spublish('unsigned order'), '1');
    const outsider = await issueSvidWithKey(await createRootCA({ trustDomain: TD, days: 1 }), { spiffeId: `spiffe://${TD}/orders`, days: 1 });
    assert.equal(spublish(await sealEnvelope(signerFromPem(`spiffe://${TD}/orders`, outsider.chainPem, outsider.keyPem), channel, 'pay the outsider')), '1');
    const foreignKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const resigned = signerFromPem(`spiffe://${TD}/orders`, readFileSync(join(dir, 'orders.pem'), 'utf8'), foreignKey);
    assert.equal(spublish(await sealEnvelope(resigned, channel, 'pay the forger')), '1');
    await until(() => (err.match(/rejected on/g) ?? []).length >= 3);
    assert.match(err, new RegExp(`rejected on ${channel.replace('.', '\\.')}: malformed: not a FlyMe signed envelope`));
    assert.match(err, /: untrusted-signer: signer certificate refused/);
    assert.match(err, new RegExp(`from spiffe://${TD}/orders: bad-signature: signature does not verify`));

    // Control after the forgeries: a genuine message still arrives, and only the two genuine ones were printed.
    assert.equal((await runCli(['--certs', dir, 'pub', channel, 'order #2', '--name', 'orders', '--redis', cluster.urls[2]!, ...common])).code, 0);
    await until(() => lines().length === 2);
    assert.deepEqual(lines().map((m) => m.payload), ['order #1', 'order #2']);

    // Several --redis URLs are cluster seeds: without --cluster that is a usage error.
    const usage = await runCli(['--certs', dir, 'pub', channel, 'x', '--name', 'orders', '--redis', cluster.urls[0]!, '--redis', cluster.urls[1]!, '--policy', policy]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /add --cluster/);
  } finally {
    sub.kill();
    await fx.close();
  }
});
