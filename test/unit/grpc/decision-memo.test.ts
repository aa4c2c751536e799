// flyme/grpc remembers an allowed decision per connection (src/grpc/decision-memo.ts). Each test makes a call
// that is remembered, changes one input, and shows the next call on the SAME connection is decided again:
// the token expired, the policy changed, the JWKS changed, the token role configuration changed; and that
// another certificate never gets the remembered grant. Each has a control call that succeeds.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair } from 'jose';
import { createSecureServer, SecureGrpcClientBuilder, type SecureGrpcServer } from '../../../src/grpc/index.js';
import { JwksFileSource, RoleConfig, TokenVerifier } from '../../../src/auth/index.js';
import { Policy } from '../../../src/auth/policy/index.js';
import { addServices, makeBed, services, unary, TD, type Bed } from './fixture.js';

const { Greeter } = services();
const HELLO = '/flyme.example.Greeter/SayHello';
const policyText = (bound: boolean) => `roles:\n  greeter: { methods: ["${HELLO}"] }\nbindings:\n  - { spiffeId: "spiffe://${TD}/${bound ? 'client' : 'stranger'}", roles: [greeter] }\n`;

describe('gRPC remembered decisions end when an input changes', () => {
  let bed: Bed;
  let server: SecureGrpcServer;
  let keys: JwksFileSource;
  let addr: string;
  let skewMs = 0;
  let policy: Policy;
  const tokenRoles = RoleConfig.fromObject({ 'flyme-test': { svc: ['greeter.read'], tokenonly: ['greeter.read'] } });
  const clients: grpc.Client[] = [];
  /** One client = one connection; its token is fixed. */
  const client = async (name: string, token: string) => {
    const c = await new SecureGrpcClientBuilder().withTls(bed.files(name), `spiffe://${TD}/greeter`)
      .withToken(() => ({ token, exp: Math.floor(Date.now() / 1000) + 300 })).build(addr, Greeter) as grpc.Client;
    clients.push(c);
    return c;
  };
  const hello = async (c: grpc.Client) => unary(c, 'SayHello', { name: 'x' });

  before(async () => {
    bed = await makeBed();
    keys = await JwksFileSource.open(bed.jwksPath, { algorithms: ['ES256'], pollIntervalMs: 0 });
    const tokens = new TokenVerifier({ keys, issuer: 'flyme-test', audience: 'greeter', clock: () => new Date(Date.now() + skewMs) });
    policy = Policy.parse(policyText(true), 'memo-test');
    server = await createSecureServer({
      identity: bed.files('greeter'),
      methods: { [HELLO]: ['greeter.read'] },
      policy: () => policy,
      tokens,
      tokenRoles,
    });
    addServices(server.server);
    addr = `unix://${join(bed.dir, 'memo.sock')}`;
    await server.bind(addr);
  });
  after(async () => {
    clients.forEach((c) => c.close());
    keys.close();
    await server.shutdown();
    bed.cleanup();
  });

  test('the token expires: the next call on the connection is refused', async () => {
    const c = await client('client', await bed.issuer.issue({ sub: 'svc', aud: 'greeter', roles: ['greeter.read'], ttlSeconds: 60 }));
    assert.equal((await hello(c)).ok, true);
    assert.equal((await hello(c)).ok, true, 'control: the same call again, remembered');
    skewMs = 200_000; // past exp and the 30 s skew allowance
    try {
      const r = await hello(c);
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
      assert.match(r.details!, /FLYME_TOKEN_EXPIRED/);
    } finally {
      skewMs = 0;
    }
  });

  test('the policy changes: the binding is gone, the call is denied; restored, allowed', async () => {
    // Only the policy grants this caller: the token claims no role.
    const c = await client('client', await bed.issuer.issue({ sub: 'nobody', aud: 'greeter', ttlSeconds: 300 }));
    assert.equal((await hello(c)).ok, true);
    assert.equal((await hello(c)).ok, true);
    const before = policy;
    policy = Policy.parse(policyText(false), 'memo-test');
    try {
      const r = await hello(c);
      assert.equal(r.code, grpc.status.PERMISSION_DENIED, r.details ?? JSON.stringify(r.value));
    } finally {
      policy = before;
    }
    assert.equal((await hello(c)).ok, true, 'control: the old policy back');
  });

  test('the JWKS changes: the signing key is gone, the token is refused', async () => {
    // A caller whose only role for the method comes from its token (the policy binds only spiffe://…/client).
    const c = await client('reader', await bed.issuer.issue({ sub: 'tokenonly', aud: 'greeter', roles: ['greeter.read'], ttlSeconds: 300 }));
    assert.equal((await hello(c)).ok, true);
    assert.equal((await hello(c)).ok, true);
    const original = readFileSync(bed.jwksPath, 'utf8');
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(bed.jwksPath, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }] }));
    try {
      assert.equal(await keys.reload(), true);
      const r = await hello(c);
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
      assert.match(r.details!, /FLYME_TOKEN_INVALID/);
    } finally {
      writeFileSync(bed.jwksPath, original);
      await keys.reload();
    }
    assert.equal((await hello(c)).ok, true, 'control: the key is back');
  });

  test('another certificate: a token allowed on one connection is refused with another client certificate', async () => {
    const token = await bed.issuer.issue({ sub: 'tokenonly', aud: 'greeter', roles: ['greeter.read'], ttlSeconds: 300 });
    const first = await client('reader', token);
    assert.equal((await hello(first)).ok, true);
    assert.equal((await hello(first)).ok, true);
    const other = await client('client', token);
    const r = await hello(other);
    assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
    assert.match(r.details!, /FLYME_TOKEN_REPLAYED/);
    assert.equal((await hello(first)).ok, true, 'control: still allowed on its own connection');
  });

  test('the token role configuration changes: the principal shows the new grant at once', async () => {
    const c = await client('reader', await bed.issuer.issue({ sub: 'tokenonly', aud: 'greeter', roles: ['greeter.read', 'greeter.extra'], ttlSeconds: 300 }));
    const first = await hello(c);
    assert.equal(first.value?.message, 'hello x from tokenonly roles=greeter.read');
    assert.equal((await hello(c)).value?.message, 'hello x from tokenonly roles=greeter.read', 'control: remembered');
    tokenRoles.addRole('flyme-test', 'tokenonly', 'greeter.extra');
    assert.equal((await hello(c)).value?.message, 'hello x from tokenonly roles=greeter.extra,greeter.read');
  });
});

test('gRPC without tokens: a decision remembered for one certificate is not used for another', async () => {
  const bed = await makeBed();
  const server = await createSecureServer({
    identity: bed.files('greeter'),
    methods: { '/flyme.example.Greeter/SetGreeting': ['greeter.write'] },
    idRoles: { [`spiffe://${TD}/client`]: ['greeter.write'] },
  });
  addServices(server.server);
  const addr = `unix://${join(bed.dir, 'memo2.sock')}`;
  await server.bind(addr);
  const clients: grpc.Client[] = [];
  const client = async (name: string) => {
    const c = await new SecureGrpcClientBuilder().withTls(bed.files(name), `spiffe://${TD}/greeter`).build(addr, Greeter) as grpc.Client;
    clients.push(c);
    return c;
  };
  try {
    const writer = await client('client');
    assert.equal((await unary(writer, 'SetGreeting', { greeting: 'hi' })).ok, true);
    assert.equal((await unary(writer, 'SetGreeting', { greeting: 'hi' })).ok, true, 'control: remembered for its connection');
    const r = await unary(await client('reader'), 'SetGreeting', { greeting: 'hi' });
    assert.equal(r.code, grpc.status.PERMISSION_DENIED, r.details);
  } finally {
    clients.forEach((c) => c.close());
    await server.shutdown();
    bed.cleanup();
  }
});
