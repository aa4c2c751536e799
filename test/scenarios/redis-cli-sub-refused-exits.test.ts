// `flyme sub` on a channel the channel ACL does not let this identity subscribe to exits with the refusal
// (exit 3, FLYME_PERMISSION_DENIED). Until 2026-12-01 it printed the refusal and then ran on for ever, held by its
// open Redis connections. Control: the same command on a channel it may subscribe to says "subscribed" and keeps
// running until stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, runCli, tempDir } from '../helpers/daemon.js';
import { REDIS_SERVER, startRedis } from '../helpers/redis.js';

test('flyme sub refused by the channel ACL exits 3; an allowed sub keeps running', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, async () => {
  const dir = tempDir();
  const certs = join(dir, 'certs');
  assert.equal((await runCli(['certs', 'init', '--dir', certs])).code, 0);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles: {}
channels:
  - channel: "orders.*"
    subscribe: [{ spiffeId: "spiffe://flyme.local/client" }]
  - channel: "payments.*"
    subscribe: [{ spiffeId: "spiffe://flyme.local/billing" }]
`);
  const redis = await startRedis(certs, dir);
  const common = ['--redis', redis.url, '--policy', policy, '--server-id', 'spiffe://flyme.local/redis'];
  const allowed = spawn(process.execPath, [FLYME, '--certs', certs, 'sub', 'orders.*', ...common], { stdio: ['ignore', 'ignore', 'pipe'] });
  let allowedErr = '';
  allowed.stderr!.on('data', (d: Buffer) => { allowedErr += d.toString(); });
  try {
    // The refused one: killed by the 20 s limit on the old code (exit null).
    const refused = await runCli(['--json', '--certs', certs, 'sub', 'payments.*', ...common], { timeout: 20_000 });
    assert.equal(refused.code, 3, `refused sub: exit ${refused.code} ${refused.stderr}`);
    assert.equal(JSON.parse(refused.stderr).error.code, 'FLYME_PERMISSION_DENIED');
    // A list with one refused channel among allowed ones is refused as a whole, and exits too.
    const mixed = await runCli(['--json', '--certs', certs, 'sub', 'orders.*', 'payments.*', ...common], { timeout: 20_000 });
    assert.equal(mixed.code, 3, `mixed sub: exit ${mixed.code} ${mixed.stderr}`);

    // Control: the allowed subscriber said so and is still running (it only stops when told).
    for (let i = 0; i < 200 && !allowedErr.includes('subscribed'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(allowedErr, /subscribed to orders\.\* as spiffe:\/\/flyme\.local\/client/);
    assert.equal(allowed.exitCode, null, 'the allowed subscriber is still running');
    assert.equal(allowed.signalCode, null);
  } finally {
    allowed.kill();
    await redis.stop();
  }
});
