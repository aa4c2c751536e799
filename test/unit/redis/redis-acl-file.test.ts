// `flyme redis acl` as a library: which identities get a Redis user, with which channels and commands, how the
// aclfile and the credentials files look (modes, hashed passwords), and what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Policy } from '../../../src/auth/policy/policy.js';
import { FlyMeError } from '../../../src/errors.js';
import { aclFileText, redisAclUsers, redisUsername } from '../../../src/redis/redis-acl.js';
import { writeRedisAcl } from '../../../src/redis/index.js';

const policy = (channels: string, bindings = '') => Policy.parse(`roles:
  auditor: { methods: [ping] }
bindings:
  - { uid: 0, roles: [auditor] }
${bindings}
channels:
${channels}`, 'p.yaml');

const P = policy(`  - channel: "orders.*"
    publish: [{ spiffeId: "spiffe://td/orders" }]
    subscribe: [{ spiffeId: "spiffe://td/billing" }, { spiffeIdPrefix: "spiffe://td/svc/" }]
  - channel: "audit"
    subscribe: [{ role: auditor }]
`, `  - { spiffeId: "spiffe://td/auditor", roles: [auditor] }
  - { spiffeIdPrefix: "spiffe://td/team/", roles: [auditor] }
  - { spiffeId: "spiffe://td/unrelated", roles: [admin] }`);

test('usernames are stable, distinct, file- and Redis-safe', () => {
  const a = redisUsername('spiffe://td/orders');
  assert.equal(a, redisUsername('spiffe://td/orders'));
  assert.match(a, /^td_orders-[0-9a-f]{12}$/);
  assert.notEqual(redisUsername('spiffe://td/a/b'), redisUsername('spiffe://td/a_b'), 'same slug, different IDs');
  assert.match(redisUsername(`spiffe://td/${'x'.repeat(500)}`), /^[A-Za-z0-9._-]{1,64}-[0-9a-f]{12}$/);
});

test('one user per named or role-bound ID; channels by ID, prefix and role; prefixes listed, not expanded', () => {
  const plan = redisAclUsers(P);
  assert.deepEqual(plan.users.map((u) => [u.spiffeId, u.publish, u.subscribe]), [
    ['spiffe://td/auditor', [], ['audit']],
    ['spiffe://td/billing', [], ['orders.*']],
    ['spiffe://td/orders', ['orders.*'], []],
  ]);
  assert.equal(plan.notExpanded.length, 2);
  assert.match(plan.notExpanded.join('\n'), /spiffe:\/\/td\/svc\//);
  assert.match(plan.notExpanded.join('\n'), /spiffe:\/\/td\/team\//);
  // Named explicitly, a member of a prefix gets the prefix's channels and its binding's role channels.
  const team = redisAclUsers(P, { identities: ['spiffe://td/team/x', 'spiffe://td/svc/y'] }).users;
  assert.deepEqual(team.find((u) => u.spiffeId === 'spiffe://td/team/x')?.subscribe, ['audit']);
  assert.deepEqual(team.find((u) => u.spiffeId === 'spiffe://td/svc/y')?.subscribe, ['orders.*']);
  assert.throws(() => redisAclUsers(P, { identities: ['spiffe://td/nobody'] }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG' && /may use no channel/.test(e.message));
  assert.throws(() => redisAclUsers(P, { identities: ['spiffe://TD/x'] }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_SPIFFE_ID');
});

test('the aclfile: default off, resetchannels then the channels, only the pub/sub commands each user needs', () => {
  const text = aclFileText(redisAclUsers(P).users.map((u) => ({ ...u, passwordHash: 'ab'.repeat(32) })));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'user default off resetpass resetkeys resetchannels -@all');
  const orders = lines.find((l) => l.includes(redisUsername('spiffe://td/orders')))!;
  assert.equal(orders, `user ${redisUsername('spiffe://td/orders')} reset on #${'ab'.repeat(32)} resetchannels &orders.* -@all +publish +spublish +ping`);
  const billing = lines.find((l) => l.includes(redisUsername('spiffe://td/billing')))!;
  assert.match(billing, / resetchannels &orders\.\* -@all \+subscribe \+psubscribe \+ssubscribe \+unsubscribe \+punsubscribe \+sunsubscribe \+ping$/);
  assert.ok(!lines.some((l) => l.startsWith('#')), 'Redis 7.0 refuses comments in an aclfile');
});

test('cluster: every user may also read the topology (CLUSTER SLOTS, SHARDS) and nothing else of CLUSTER; the default user still nothing', () => {
  const users = redisAclUsers(P).users.map((u) => ({ ...u, passwordHash: 'ab'.repeat(32) }));
  const lines = aclFileText(users, { cluster: true }).trimEnd().split('\n');
  assert.equal(lines[0], 'user default off resetpass resetkeys resetchannels -@all');
  assert.equal(lines.length, users.length + 1);
  for (const l of lines.slice(1)) assert.match(l, / -@all .*\+ping \+cluster\|slots \+cluster\|shards$/);
  assert.ok(!lines.some((l) => /\+cluster(?!\|(slots|shards))|\+@/.test(l)), 'no other CLUSTER subcommand, no command category');
  // Control: without cluster, no CLUSTER grant at all.
  assert.doesNotMatch(aclFileText(users), /cluster/);
});

test('channels Redis cannot hold unquoted are refused; a backslash is escaped for Redis globs', () => {
  const quoted = policy(`  - { channel: "it's", publish: [{ spiffeId: "spiffe://td/a" }] }\n`);
  assert.throws(() => redisAclUsers(quoted), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG' && /quote/.test(e.message));
  const slash = policy(`  - { channel: 'a\\b', publish: [{ spiffeId: "spiffe://td/a" }] }\n`);
  assert.match(aclFileText(redisAclUsers(slash).users.map((u) => ({ ...u, passwordHash: '0'.repeat(64) }))), / &a\\\\b /);
});

test('writes users.acl (0640, hashes only) and 0600 credentials; refuses to overwrite without force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-redis-acl-'));
  try {
    const out = join(dir, 'out');
    const w = await writeRedisAcl(P, out);
    assert.equal(statSync(w.aclFile).mode & 0o777, 0o640);
    assert.equal(statSync(join(out, 'credentials')).mode & 0o777, 0o700);
    const acl = readFileSync(w.aclFile, 'utf8');
    for (const u of w.users) {
      assert.equal(statSync(u.credentialsFile).mode & 0o777, 0o600);
      const c = JSON.parse(readFileSync(u.credentialsFile, 'utf8')) as { spiffeId: string; username: string; password: string };
      assert.deepEqual([c.spiffeId, c.username], [u.spiffeId, u.username]);
      assert.ok(c.password.length >= 40);
      assert.ok(!acl.includes(c.password), 'the aclfile holds no password');
      assert.ok(acl.includes(`user ${u.username} reset on #${createHash('sha256').update(c.password).digest('hex')} `));
    }
    const first = readFileSync(w.users[0]!.credentialsFile, 'utf8');
    await assert.rejects(writeRedisAcl(P, out), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_FILE_EXISTS');
    assert.equal(readFileSync(w.users[0]!.credentialsFile, 'utf8'), first, 'nothing replaced');
    await writeRedisAcl(P, out, { force: true });
    assert.notEqual(readFileSync(w.users[0]!.credentialsFile, 'utf8'), first, 'force: a new password');
    // A policy naming nobody writes nothing.
    await assert.rejects(writeRedisAcl(policy('  - { channel: "x", subscribe: [{ spiffeIdPrefix: "spiffe://td/" }] }\n'), join(dir, 'none')), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG');
    assert.ok(!existsSync(join(dir, 'none')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
