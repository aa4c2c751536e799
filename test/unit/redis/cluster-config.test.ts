// A Redis Cluster configuration is checked before anything is opened: each bad seed or option gets its own
// error; a cluster nobody answers for is FLYME_UNREACHABLE (no Redis needed for these).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelAcl } from '../../../src/auth/policy/index.js';
import { FlyMeError } from '../../../src/errors.js';
import { createRootCA, issueSvidWithKey } from '../../../src/identity/index.js';
import { SecureRedis, SecureRedisClientBuilder } from '../../../src/redis/index.js';
import { freePort } from '../../helpers/redis.js';

const acl = new ChannelAcl([]);
const code = (c: string, message?: RegExp) => (e: unknown) => e instanceof FlyMeError && e.code === c && (!message || message.test(e.message));

test('bad cluster seeds and options are refused before connecting', async () => {
  const base = { url: 'rediss://127.0.0.1:7001', certsDir: '/nonexistent', acl };
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { seeds: ['redis://127.0.0.1:7002'] } }), code('FLYME_INVALID_ADDRESS', /redis:\/\/127\.0\.0\.1:7002: every cluster seed must be rediss:\/\/host:port/));
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { seeds: ['not a url'] } }), code('FLYME_INVALID_ADDRESS', /not a URL/));
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { seeds: ['rediss://127.0.0.1'] } }), code('FLYME_INVALID_ADDRESS', /host:port/));
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { publishTimeoutMs: -1 } }), code('FLYME_INVALID_CONFIG', /publishTimeoutMs/));
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { publishTimeoutMs: 1.5 } }), code('FLYME_INVALID_CONFIG', /publishTimeoutMs/));
  // Control: a valid configuration gets past these checks (and fails later, on the missing certificates).
  await assert.rejects(SecureRedis.connect({ ...base, cluster: { seeds: ['rediss://127.0.0.1:7002'], publishTimeoutMs: 0 } }), (e: unknown) => !(e instanceof FlyMeError && /seed|publishTimeoutMs/.test(e.message)));
});

test('the builder: withCluster needs a seed; build() needs a URL unless withCluster was called', async () => {
  assert.throws(() => new SecureRedisClientBuilder().withCluster([]), code('FLYME_INVALID_CONFIG', /at least one seed/));
  await assert.rejects(new SecureRedisClientBuilder().withTls('/nonexistent').withAcl(acl).build(), code('FLYME_INVALID_CONFIG', /build\(url\)/));
  await assert.rejects(new SecureRedisClientBuilder().withTls('/nonexistent').withAcl(acl).withCluster(['rediss://127.0.0.1:7001', 'redis://127.0.0.1:7002']).build(), code('FLYME_INVALID_ADDRESS'));
});

test('a cluster whose seeds do not answer is FLYME_UNREACHABLE, naming the seeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-cluster-config-'));
  try {
    const ca = await createRootCA({ trustDomain: 'flyme.local', days: 1 });
    writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
    const s = await issueSvidWithKey(ca, { spiffeId: 'spiffe://flyme.local/client', days: 1 });
    writeFileSync(join(dir, 'client.pem'), s.chainPem);
    writeFileSync(join(dir, 'client.key.pem'), s.keyPem, { mode: 0o600 });
    const [a, b] = [await freePort(), await freePort()];
    await assert.rejects(SecureRedis.connect({ url: `rediss://127.0.0.1:${a}`, cluster: { seeds: [`rediss://127.0.0.1:${b}`] }, certsDir: dir, acl }),
      code('FLYME_UNREACHABLE', new RegExp(`cannot reach the Redis Cluster through 127\\.0\\.0\\.1:${a}, 127\\.0\\.0\\.1:${b}`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
