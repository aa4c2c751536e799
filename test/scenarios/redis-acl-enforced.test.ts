// Redis itself enforces the channel ACL: `flyme redis acl` turns the policy into an aclfile and per-identity
// credentials; a real redis-server loaded with that file lets each identity log in as its user and use its
// channels (a signed envelope goes end to end, also on a channel granted through a role binding), and refuses
// everything else even when FlyMe's client-side check is bypassed: a forbidden subscribe (NOPERM), a publish
// by a subscribe-only user (NOPERM), the default user without a login (NOAUTH), a wrong password (WRONGPASS).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { ChannelAcl, Policy } from '../../src/auth/policy/index.js';
import { FlyMeError } from '../../src/errors.js';
import { SecureRedis } from '../../src/redis/index.js';
import { runCli, tempDir } from '../helpers/daemon.js';
import { REDIS_CLI, REDIS_SERVER, startRedis, type RedisServer } from '../helpers/redis.js';

const TD = 'flyme.local';
const ID = (n: string) => `spiffe://${TD}/${n}`;
const POLICY = `roles:
  auditor: { methods: [ping] }
bindings:
  - { spiffeId: "${ID('auditor')}", roles: [auditor] }
channels:
  - channel: "orders.*"
    publish: [{ spiffeId: "${ID('orders')}" }]
    subscribe: [{ spiffeId: "${ID('billing')}" }]
  - channel: "audit"
    publish: [{ spiffeId: "${ID('orders')}" }]
    subscribe: [{ role: auditor }]
`;

describe('Redis enforces the ACL flyme redis acl generated', { skip: !existsSync(REDIS_SERVER) && 'needs Debian redis-server (npm test installs it as root)' }, () => {
  let dir: string;
  let certs: string;
  let policy: string;
  let redis: RedisServer;
  const open: SecureRedis[] = [];
  /** SPIFFE ID → the credentials file flyme redis acl wrote for it. */
  const files = new Map<string, string>();
  const creds = (name: string) => files.get(ID(name)) ?? assert.fail(`no credentials file for ${ID(name)}`);
  const connect = async (name: string, o: Partial<Parameters<typeof SecureRedis.connect>[0]> = {}) => {
    const r = await SecureRedis.connect({ url: redis.url, certsDir: certs, name, policy: Policy.load(policy), serverId: ID('redis'), credentials: creds(name), ...o });
    open.push(r);
    return r;
  };
  /** node-redis with the identity's certificate and (optionally) a login: no FlyMe check in between. */
  const raw = async (name: string, login?: { username: string; password: string }) => {
    const c = createClient({
      // Without a login, RESP2: no HELLO at connect (which Redis would refuse), so the commands themselves meet NOAUTH.
      url: redis.url, ...(login ?? { RESP: 2 as const }),
      socket: { tls: true, ca: readFileSync(join(certs, 'root-ca.pem')), cert: readFileSync(join(certs, `${name}.pem`)), key: readFileSync(join(certs, `${name}.key.pem`)), checkServerIdentity: () => undefined, reconnectStrategy: false },
    });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const login = (name: string) => JSON.parse(readFileSync(creds(name), 'utf8')) as { username: string; password: string };

  before(async () => {
    dir = tempDir('flyme-redis-acl-');
    certs = join(dir, 'certs');
    assert.equal((await runCli(['certs', 'init', '--dir', certs])).code, 0);
    for (const n of ['orders', 'billing', 'auditor']) {
      const r = await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', ID(n), '--out', join(certs, n)]);
      assert.equal(r.code, 0, r.stderr);
    }
    policy = join(dir, 'policy.yaml');
    writeFileSync(policy, POLICY);
    const acl = await runCli(['redis', 'acl', '--policy', policy, '--out', join(dir, 'acl')]);
    assert.equal(acl.code, 0, acl.stderr);
    for (const f of readdirSync(join(dir, 'acl', 'credentials'))) {
      const path = join(dir, 'acl', 'credentials', f);
      files.set((JSON.parse(readFileSync(path, 'utf8')) as { spiffeId: string }).spiffeId, path);
    }
    assert.deepEqual([...files.keys()].sort(), ['auditor', 'billing', 'orders'].map(ID), 'one user per identity, the role-bound one included');
    redis = await startRedis(certs, dir, { args: ['--aclfile', join(dir, 'acl', 'users.acl')] });
  });
  after(async () => {
    for (const r of open) await r.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('control: an allowed subscribe and publish work end to end (flyme pub --redis-credentials)', async () => {
    const sub = await (await connect('billing')).subscribe('orders.*');
    const pub = await runCli(['--certs', certs, 'pub', 'orders.eu', 'order #1', '--name', 'orders', '--redis', redis.url, '--policy', policy,
      '--server-id', ID('redis'), '--redis-credentials', creds('orders')]);
    assert.equal(pub.code, 0, pub.stderr);
    const m = await sub.next(5000);
    assert.deepEqual([m?.channel, m?.from, m?.payload], ['orders.eu', ID('orders'), 'order #1']);
    await sub.close();
  });

  test('roles: a channel granted through a role binding works (Redis user and client-side check)', async () => {
    const sub = await (await connect('auditor')).subscribe('audit');
    assert.equal(await (await connect('orders')).publish('audit', 'entry'), 1);
    const m = await sub.next(5000);
    assert.deepEqual([m?.from, m?.payload, m?.roles], [ID('orders'), 'entry', []]);
    await sub.close();
  });

  test('a forbidden subscribe is refused by Redis (NOPERM) with the client-side check bypassed', async () => {
    // node-redis directly, logged in as billing's user.
    const c = await raw('billing', login('billing'));
    try {
      await assert.rejects(c.subscribe('audit', () => {}), /NOPERM/);
      await assert.rejects(c.pSubscribe('*', () => {}), /NOPERM/);
      await c.subscribe('orders.eu', () => {}); // control on the same connection
    } finally {
      c.destroy();
    }
    // flyme/redis with an ACL that allows everything: Redis still says no, as a FlyMeError.
    const everything = new ChannelAcl([{ channel: 'audit', subscribe: [{ spiffeIdPrefix: `spiffe://${TD}/` }] }]);
    const r = await connect('billing', { acl: everything });
    await assert.rejects(r.subscribe('audit'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_PERMISSION_DENIED' && /NOPERM/.test(e.message));
    // redis-cli with billing's login: the same refusal (redis-cli stays in subscribe mode: stopped once it answered).
    const cli = spawn(REDIS_CLI, ['--tls', '--cacert', join(certs, 'root-ca.pem'), '--cert', join(certs, 'billing.pem'), '--key', join(certs, 'billing.key.pem'),
      '-h', 'localhost', '-p', String(redis.port), '--user', login('billing').username, '--pass', login('billing').password, '--no-auth-warning', 'SUBSCRIBE', 'audit'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) => {
      const seen = (d: Buffer) => { out += d.toString(); if (/NOPERM|\n.*\n.*\n/.test(out)) resolve(); };
      cli.stdout!.on('data', seen);
      cli.stderr!.on('data', seen);
      cli.once('exit', () => resolve());
    });
    cli.kill();
    assert.match(out, /NOPERM/);
  });

  test('a subscribe-only user cannot publish, even on its own channel', async () => {
    const c = await raw('billing', login('billing'));
    try {
      await assert.rejects(c.publish('orders.eu', 'forged'), /NOPERM/);
    } finally {
      c.destroy();
    }
    const o = await raw('orders', login('orders'));
    try {
      assert.equal(typeof await o.publish('orders.eu', 'control'), 'number'); // control: the publisher's user may
    } finally {
      o.destroy();
    }
  });

  test('no login (default user off) and a wrong password are refused; the password is never shown', async () => {
    const c = await raw('billing');
    try {
      await assert.rejects(c.ping(), /NOAUTH/);
      await assert.rejects(c.publish('orders.eu', 'x'), /NOAUTH/);
    } finally {
      c.destroy();
    }
    await assert.rejects(SecureRedis.connect({ url: redis.url, certsDir: certs, name: 'billing', policy: Policy.load(policy), serverId: ID('redis') }),
      (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED' && /NOAUTH/.test(e.message));
    const wrong = { username: login('billing').username, password: 'not-the-password-123' };
    await assert.rejects(connect('billing', { credentials: wrong }),
      (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED' && /WRONGPASS/.test(e.message) && !e.message.includes(wrong.password));
    // Another identity's credentials file is refused before it is sent.
    await assert.rejects(connect('billing', { credentials: creds('orders') }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG' && /are for spiffe:\/\/flyme\.local\/orders/.test(e.message));
  });
});
