// Secure gRPC, Node client ↔ Node server over a Unix socket and TCP loopback: each refusal with its exact
// status and a passing control. Roles from SPIFFE IDs (server A) and from verified tokens (server B).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createSecureServer, SecureGrpcClientBuilder, PRINCIPAL_KEY, type SecureGrpcServer } from '../../../src/grpc/index.js';
import { authorizeOneOf } from '../../../src/identity/index.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { addServices, makeBed, services, unary, TD, type Bed } from './fixture.js';

const SERVER_ID = `spiffe://${TD}/greeter`;
const { Greeter, Ticker } = services();

for (const transport of ['unix', 'tcp'] as const) {
  describe(`gRPC over ${transport}`, () => {
    let bed: Bed;
    let a: SecureGrpcServer;
    let b: SecureGrpcServer;
    let addrA: string;
    let addrB: string;
    const events: SecurityEvent[] = [];
    const clients: grpc.Client[] = [];
    const client = async (name: string, o: { serverId?: string; token?: string; ctor?: grpc.ServiceClientConstructor; target?: string } = {}) => {
      const builder = new SecureGrpcClientBuilder().withTls(bed.files(name), o.serverId ?? SERVER_ID);
      if (o.token) builder.withToken(() => ({ token: o.token!, exp: Math.floor(Date.now() / 1000) + 300 }));
      const c = await builder.build(o.target ?? addrA, o.ctor ?? Greeter);
      clients.push(c as grpc.Client);
      return c as grpc.Client;
    };
    const token = (sub: string, roles: string[], ttlSeconds = 300) => bed.issuer.issue({ sub, aud: 'greeter', roles, ttlSeconds });

    before(async () => {
      bed = await makeBed();
      const common = { identity: bed.files('greeter'), events: { emit: (e: SecurityEvent) => events.push(e) } };
      a = await createSecureServer({
        ...common,
        clientAuthorizer: authorizeOneOf([`spiffe://${TD}/client`, `spiffe://${TD}/reader`]),
        methods: { '/flyme.example.Greeter/SayHello': ['greeter.read'], '/flyme.example.Greeter/SetGreeting': ['greeter.write'], '/flyme.test.Ticker/Ticks': ['greeter.read'] },
        idRoles: { [`spiffe://${TD}/client`]: ['greeter.read', 'greeter.write'], [`spiffe://${TD}/reader`]: ['greeter.read'] },
      });
      b = await createSecureServer({
        ...common,
        methods: { '/flyme.example.Greeter/SayHello': ['greeter.read'], '/flyme.example.Greeter/SetGreeting': ['greeter.write'] },
        tokens: { jwksPath: bed.jwksPath, issuer: 'flyme-test', audience: 'greeter' },
      });
      addServices(a.server);
      addServices(b.server);
      if (transport === 'unix') {
        addrA = `unix://${join(bed.dir, 'a.sock')}`;
        addrB = `unix://${join(bed.dir, 'b.sock')}`;
        await a.bind(addrA);
        await b.bind(addrB);
      } else {
        addrA = `localhost:${await a.bind('127.0.0.1:0')}`;
        addrB = `localhost:${await b.bind('127.0.0.1:0')}`;
      }
    });
    after(async () => {
      clients.forEach((c) => c.close());
      await a.shutdown();
      await b.shutdown();
      bed.cleanup();
    });

    test('allowed call; the handler sees the principal; a client-sent principal header is ignored', async () => {
      const md = new grpc.Metadata();
      md.set(PRINCIPAL_KEY, Buffer.from(JSON.stringify({ roles: ['admin'], cert: { spiffeId: 'spiffe://evil/x' } })));
      const r = await unary(await client('client'), 'SayHello', { name: 'ann' }, md);
      assert.equal(r.ok, true, r.details);
      assert.equal(r.value!.message, `hello ann from spiffe://${TD}/client roles=greeter.read,greeter.write`);
    });

    test('no client certificate → UNAUTHENTICATED', async () => {
      const creds = grpc.credentials.createSsl(Buffer.from((await import('node:fs')).readFileSync(bed.files('client').caPath)), null, null, { checkServerIdentity: () => undefined });
      const c = new Greeter(addrA, creds);
      clients.push(c);
      const r = await unary(c, 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
      assert.match(r.details!, /no verified client certificate: the client presented no certificate/);
    });

    test('certificate from another CA → UNAUTHENTICATED; expired → UNAUTHENTICATED', async () => {
      let r = await unary(await client('foreign'), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
      assert.match(r.details!, /no verified client certificate: .*(does not lead to a trusted root|unknown|unable to get)/i);
      r = await unary(await client('expired'), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
      assert.match(r.details!, /no verified client certificate: .*expired/i);
    });

    test('SPIFFE ID not authorized → PERMISSION_DENIED (reader, authorized, is the control)', async () => {
      const r = await unary(await client('stranger'), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.PERMISSION_DENIED, r.details);
      assert.match(r.details!, /stranger is not authorized/);
      assert.equal((await unary(await client('reader'), 'SayHello', { name: 'x' })).ok, true);
    });

    test('role from the SPIFFE ID: reader may SayHello, not SetGreeting', async () => {
      const r = await unary(await client('reader'), 'SetGreeting', { greeting: 'yo' });
      assert.equal(r.code, grpc.status.PERMISSION_DENIED);
      assert.match(r.details!, /needs one of the roles \[greeter\.write\]/);
      assert.equal((await unary(await client('client'), 'SetGreeting', { greeting: 'yo' })).ok, true);
    });

    test('server identity wrong from the client side → the call fails before any request is sent', async () => {
      const r = await unary(await client('client', { serverId: `spiffe://${TD}/someone-else` }), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAVAILABLE, r.details);
      assert.match(r.details!, /someone-else|not authorized/);
    });

    test('tokens: missing → UNAUTHENTICATED, expired → UNAUTHENTICATED, without the role → PERMISSION_DENIED, valid → OK', async () => {
      let r = await unary(await client('client', { target: addrB }), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED);
      assert.match(r.details!, /bearer token is required/);
      const old = await bed.pastIssuer.issue({ sub: 'svc', aud: 'greeter', roles: ['greeter.read'], ttlSeconds: 300 });
      r = await unary(await client('client', { target: addrB, token: old }), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED);
      assert.match(r.details!, /FLYME_TOKEN_EXPIRED/);
      const reader = await token('svc', ['greeter.read']);
      const c = await client('client', { target: addrB, token: reader });
      r = await unary(c, 'SetGreeting', { greeting: 'x' });
      assert.equal(r.code, grpc.status.PERMISSION_DENIED);
      r = await unary(c, 'SayHello', { name: 'bo' });
      assert.equal(r.ok, true, r.details);
      assert.match(String(r.value!.message), /from svc roles=greeter\.read/);
      // The same token from another client certificate: bound to the first one → refused.
      r = await unary(await client('reader', { target: addrB, token: reader }), 'SayHello', { name: 'x' });
      assert.equal(r.code, grpc.status.UNAUTHENTICATED);
      assert.match(r.details!, /FLYME_TOKEN_REPLAYED/);
      assert.doesNotMatch(r.details!, new RegExp(reader.slice(-20)), 'no token contents in the status');
    });

    test('method not in the role map → PERMISSION_DENIED (deny by default)', async () => {
      const c = await client('client', { target: addrB, token: await token('svc', ['greeter.read', 'greeter.write']), ctor: Ticker });
      const stream = (c as unknown as { Ticks(r: object): grpc.ClientReadableStream<unknown> }).Ticks({ count: 2 });
      const err = await new Promise<grpc.ServiceError>((resolve) => { stream.on('error', resolve); stream.on('data', () => {}); });
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      assert.match(err.details, /not in the method role map/);
    });

    test('server streaming: auth once at call start, principal in the handler; a stranger gets no message', async () => {
      const read = async (name: string) => {
        const c = await client(name, { ctor: Ticker });
        const stream = (c as unknown as { Ticks(r: object): grpc.ClientReadableStream<{ n: number; caller: string }> }).Ticks({ count: 3 });
        const got: Array<{ n: number; caller: string }> = [];
        return new Promise<{ got: typeof got; err?: grpc.ServiceError }>((resolve) => {
          stream.on('data', (m) => got.push(m));
          stream.on('error', (err: grpc.ServiceError) => resolve({ got, err }));
          stream.on('end', () => resolve({ got }));
        });
      };
      const ok = await read('reader');
      assert.deepEqual(ok.got, [1, 2, 3].map((n) => ({ n, caller: `spiffe://${TD}/reader` })));
      const no = await read('stranger');
      assert.equal(no.err?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(no.got.length, 0);
    });

    test('TLS 1.2 is refused at the handshake (a TLS 1.3 handshake with the same certificate is the control)', async () => {
      const { readFileSync } = await import('node:fs');
      const { connect } = await import('node:tls');
      const f = bed.files('client');
      const hs = (maxVersion: 'TLSv1.2' | 'TLSv1.3') => new Promise<string>((resolve) => {
        const target = addrA.startsWith('unix://') ? { path: addrA.slice(7) } : { host: '127.0.0.1', port: Number(addrA.split(':')[1]) };
        const s = connect({ ...target, cert: readFileSync(f.certPath), key: readFileSync(f.keyPath), ca: readFileSync(f.caPath), minVersion: 'TLSv1.2', maxVersion, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
        s.once('secureConnect', () => { resolve(String(s.getProtocol())); s.destroy(); });
        s.once('error', (e) => resolve(`error: ${e.message}`));
      });
      assert.match(await hs('TLSv1.2'), /^error: .*(protocol version|unsupported protocol)/);
      assert.equal(await hs('TLSv1.3'), 'TLSv1.3');
    });

    test('refusals are reported to the security event hook', () => {
      const kinds = new Set(events.map((e) => `${e.source}:${e.kind}`));
      for (const k of ['grpc:unauthenticated', 'grpc:denied', 'grpc:token_refused']) assert.ok(kinds.has(k), `${k} reported`);
    });
  });
}
