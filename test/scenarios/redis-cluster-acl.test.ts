// `flyme redis acl --cluster` on a real TLS Redis Cluster: with the generated users loaded on every node (the
// default user switched off), `flyme sub/pub --cluster --redis-credentials` log in as their identities' users,
// read the topology and deliver a signed message end to end, while Redis still refuses what the user may not
// do (a publish by the subscribe-only user; another CLUSTER subcommand). Control: the same users generated
// without --cluster cannot read the topology, and the CLI says so instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, runCli } from '../helpers/daemon.js';
import { REDIS_SERVER } from '../helpers/redis.js';
import { clusterFixture, type ClusterFixture } from '../helpers/redis-cluster.js';

const TD = 'flyme.local';
const ID = (n: string) => `spiffe://${TD}/${n}`;

/** A test-only admin user on every node (added while the default user may still do anything), used to load the users. */
const ADMIN = ['--user', 'test-admin', '--pass', 'test-admin-password', '--no-auth-warning'];
async function addAdmin(fx: ClusterFixture): Promise<void> {
  for (const node of fx.cluster.nodes) assert.equal((await fx.cluster.cliAsync(node.port, ['ACL', 'SETUSER', 'test-admin', 'on', '>test-admin-password', '~*', '&*', '+@all'])).trim(), 'OK');
}

/** Loads an aclfile's users on every node, as ACL LOAD would (ACL SETUSER, as the test admin; without blocking, see cliAsync). */
async function loadAcl(fx: ClusterFixture, aclFile: string): Promise<void> {
  const lines = readFileSync(aclFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
  for (const node of fx.cluster.nodes) {
    for (const [, name, ...rules] of lines) assert.equal((await fx.cluster.cliAsync(node.port, [...ADMIN, 'ACL', 'SETUSER', name!, ...rules])).trim(), 'OK');
  }
}

/** SPIFFE ID → credentials file, from a `flyme redis acl --out DIR`. */
function credentialsIn(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(join(dir, 'credentials'))) {
    const path = join(dir, 'credentials', f);
    files.set((JSON.parse(readFileSync(path, 'utf8')) as { spiffeId: string }).spiffeId, path);
  }
  return files;
}

test('flyme redis acl --cluster: cluster clients log in as their users on every node; without --cluster they cannot read the topology', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async () => {
  const fx = await clusterFixture(['client', 'orders']);
  const { cluster, dir } = fx;
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles: {}
channels:
  - channel: "orders.*"
    publish: [{ spiffeId: "${ID('orders')}" }]
    subscribe: [{ spiffeId: "${ID('client')}" }]
`);
  const { channel } = fx.channelsOnDistinctMasters('orders.', 1)[0]!;
  const common = ['--policy', policy, '--server-id', ID('redis'), '--cluster'];
  let sub: ReturnType<typeof spawn> | undefined;
  try {
    // Control first: users without the topology grant (what `flyme redis acl` wrote before --cluster existed).
    const plain = await runCli(['redis', 'acl', '--policy', policy, '--out', join(dir, 'acl-plain')]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(readFileSync(join(dir, 'acl-plain', 'users.acl'), 'utf8'), /cluster/);
    const withTopology = await runCli(['redis', 'acl', '--policy', policy, '--out', join(dir, 'acl'), '--cluster']);
    assert.equal(withTopology.code, 0, withTopology.stderr);
    const aclText = readFileSync(join(dir, 'acl', 'users.acl'), 'utf8');
    assert.match(aclText, /^user flyme.local_client-.* \+ping \+cluster\|slots \+cluster\|shards$/m);
    assert.match(aclText, /^user default off .* -@all$/m, 'the default user gets nothing');

    await addAdmin(fx);
    await loadAcl(fx, join(dir, 'acl-plain', 'users.acl'));
    const plainCreds = credentialsIn(join(dir, 'acl-plain'));
    const refused = await runCli(['--certs', dir, 'pub', channel, 'x', '--name', 'orders', '--redis', cluster.urls[0]!, ...common, '--redis-credentials', plainCreds.get(ID('orders'))!]);
    assert.notEqual(refused.code, 0, 'a cluster client whose user may not read the topology must fail');
    // Said as what it is (node-redis itself only reports "All the root nodes are unavailable"), with the remedy.
    assert.match(refused.stderr, /the Redis user may not read the cluster topology \(CLUSTER SLOTS\): NOPERM .*cluster\|slots/);
    assert.match(refused.stderr, /flyme redis acl --cluster/);
    // A wrong password is a refused login, not an unreachable cluster.
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ ...JSON.parse(readFileSync(plainCreds.get(ID('orders'))!, 'utf8')), password: 'not-the-password' }), { mode: 0o600 });
    const badLogin = await runCli(['--certs', dir, 'pub', channel, 'x', '--name', 'orders', '--redis', cluster.urls[0]!, ...common, '--redis-credentials', wrong]);
    assert.notEqual(badLogin.code, 0);
    assert.match(badLogin.stderr, /Redis refused the login as .*WRONGPASS/);

    // The users with the topology grant replace them (ACL SETUSER ... reset) on every node.
    await loadAcl(fx, join(dir, 'acl', 'users.acl'));
    const creds = credentialsIn(join(dir, 'acl'));
    sub = spawn(process.execPath, [FLYME, '--json', '--certs', dir, 'sub', channel, '--redis', cluster.urls[0]!, '--redis', cluster.urls[1]!, ...common,
      '--name', 'client', '--redis-credentials', creds.get(ID('client'))!], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    sub.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    sub.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const until = async (cond: () => boolean) => { for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25)); };
    await until(() => err.includes('subscribed') || sub!.exitCode !== null);
    assert.match(err, new RegExp(`subscribed to ${channel.replace('.', '\\.')} as ${ID('client')}`), err);
    const pub = await runCli(['--certs', dir, 'pub', channel, 'order #1', '--name', 'orders', '--redis', cluster.urls[3]!, ...common, '--redis-credentials', creds.get(ID('orders'))!]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stderr, /\(1 receivers\)/);
    await until(() => out.includes('order #1'));
    const m = JSON.parse(out.split('\n').find(Boolean)!) as { channel: string; from: string; payload: string };
    assert.deepEqual([m.channel, m.from, m.payload], [channel, ID('orders'), 'order #1']);

    // Still least privilege: the subscribe-only user may not publish, and no CLUSTER subcommand but the two reads.
    const asClient = JSON.parse(readFileSync(creds.get(ID('client'))!, 'utf8')) as { username: string; password: string };
    const cliAs = (args: string[]) => cluster.cliAsync(cluster.nodes[0]!.port, ['--user', asClient.username, '--pass', asClient.password, '--no-auth-warning', ...args]);
    assert.match(await cliAs(['CLUSTER', 'SLOTS']), /127\.0\.0\.1/);
    assert.match(await cliAs(['CLUSTER', 'NODES']), /NOPERM/);
    assert.match(await cliAs(['CLUSTER', 'RESET']), /NOPERM/);
    assert.match(await cliAs(['PUBLISH', channel, 'forged']), /NOPERM/);
  } finally {
    sub?.kill();
    await fx.close();
  }
});
