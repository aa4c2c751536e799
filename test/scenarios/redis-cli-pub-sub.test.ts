// Two processes over a real TLS-only redis-server: `flyme sub` prints the message `flyme pub` signed,
// with its sender; a plain-text message published with redis-cli is reported on stderr as rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, runCli, tempDir } from '../helpers/daemon.js';
import { REDIS_CLI, REDIS_SERVER, startRedis } from '../helpers/redis.js';

test('flyme pub → flyme sub through redis-server', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async () => {
  const dir = tempDir();
  const certs = join(dir, 'certs');
  assert.equal((await runCli(['certs', 'init', '--dir', certs])).code, 0);
  assert.equal((await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', 'spiffe://flyme.local/orders', '--out', join(certs, 'orders')])).code, 0);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles: {}
channels:
  - channel: "orders.*"
    publish: [{ spiffeId: "spiffe://flyme.local/orders" }]
    subscribe: [{ spiffeIdPrefix: "spiffe://flyme.local/" }]
`);
  const redis = await startRedis(certs, dir);
  const common = ['--redis', redis.url, '--policy', policy, '--server-id', 'spiffe://flyme.local/redis'];
  const sub = spawn(process.execPath, [FLYME, '--json', '--certs', certs, 'sub', 'orders.*', ...common], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  sub.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  sub.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const until = async (cond: () => boolean) => { for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25)); };
  try {
    await until(() => err.includes('subscribed'));
    assert.match(err, /subscribed to orders\.\* as spiffe:\/\/flyme\.local\/client/);
    const pub = await runCli(['--certs', certs, 'pub', 'orders.eu', 'order #1', '--name', 'orders', ...common]);
    assert.equal(pub.code, 0, pub.stderr);
    await until(() => out.includes('\n'));
    const m = JSON.parse(out.split('\n')[0]!);
    assert.deepEqual([m.channel, m.from, m.payload], ['orders.eu', 'spiffe://flyme.local/orders', 'order #1']);

    // The subscriber's identity may not publish there: refused before anything is sent.
    const denied = await runCli(['--json', '--certs', certs, 'pub', 'orders.eu', 'x', ...common]);
    assert.equal(denied.code, 3);
    assert.equal(JSON.parse(denied.stderr).error.code, 'FLYME_PERMISSION_DENIED');

    const cli = spawnSync(REDIS_CLI, ['--tls', '--cacert', join(certs, 'root-ca.pem'), '--cert', join(certs, 'client.pem'), '--key', join(certs, 'client.key.pem'), '-h', 'localhost', '-p', String(redis.port), 'PUBLISH', 'orders.eu', 'unsigned order'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    await until(() => err.includes('rejected'));
    assert.match(err, /rejected on orders\.eu: malformed: not a FlyMe signed envelope/);
    assert.equal(out.trim().split('\n').length, 1, 'the plain-text message was not printed as a message');

  } finally {
    sub.kill();
    await redis.stop();
  }
});
