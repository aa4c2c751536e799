// flyme/grpc follows certificate expiry on live connections: a client whose certificate expires loses its
// HTTP/2 connection within about a second, so its next call is refused (UNAUTHENTICATED, expired) instead of
// riding the old connection; a client with a valid certificate keeps working (the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createSecureServer, SecureGrpcClientBuilder } from '../../../src/grpc/index.js';
import { issueSvidWithKey, parseSvid, parseTrustBundle, StaticX509Source } from '../../../src/identity/index.js';
import { addServices, makeBed, services, unary, TD } from './fixture.js';

test('a gRPC client whose certificate expires is cut off; a valid one keeps working', { timeout: 30_000 }, async () => {
  const bed = await makeBed();
  const s = await createSecureServer({ identity: bed.files('greeter'), methods: { '/flyme.example.Greeter/SayHello': ['r'] }, idRoles: { [`spiffe://${TD}/client`]: ['r'] } });
  addServices(s.server);
  const addr = `unix://${join(bed.dir, 'live.sock')}`;
  await s.bind(addr);
  const { Greeter } = services();
  const clients: grpc.Client[] = [];
  try {
    const rootPem = readFileSync(join(bed.dir, 'root-ca.pem'), 'utf8');
    const ca = bed.ca;
    const expiresAt = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000);
    const short = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/client`, notAfter: expiresAt });
    const source = await StaticX509Source.create({ svids: [await parseSvid(short.chainPem, short.keyPem)], bundle: parseTrustBundle(rootPem) }, { verifyOwn: false });
    const doomed = await new SecureGrpcClientBuilder().withTls(source, `spiffe://${TD}/greeter`).build(addr, Greeter);
    const valid = await new SecureGrpcClientBuilder().withTls(bed.files('client'), `spiffe://${TD}/greeter`).build(addr, Greeter);
    clients.push(doomed as grpc.Client, valid as grpc.Client);
    assert.equal((await unary(doomed as grpc.Client, 'SayHello', { name: 'a' })).ok, true, 'control: works before expiry');
    await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 1500));
    const after = await unary(doomed as grpc.Client, 'SayHello', { name: 'b' });
    assert.equal(after.code, grpc.status.UNAUTHENTICATED, after.details);
    assert.match(after.details!, /expired/);
    assert.equal((await unary(valid as grpc.Client, 'SayHello', { name: 'c' })).ok, true);
  } finally {
    clients.forEach((c) => c.close());
    await s.shutdown();
    bed.cleanup();
  }
});
