// Connect's input checks (address, sni) and how its errors become gRPC statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { flymeError, FlyMeError } from '../../../src/errors.js';
import { parseSni, parseTarget } from '../../../src/mesh/service/target.js';
import { connectStatus } from '../../../src/mesh/service/endpoint.js';

test('parseTarget: host:port, [v6]:port, names; everything else is FLYME_INVALID_PARAMS', () => {
  assert.deepEqual(parseTarget('127.0.0.3:9005'), { host: '127.0.0.3', port: 9005 });
  assert.deepEqual(parseTarget('[::1]:9005'), { host: '::1', port: 9005 });
  assert.deepEqual(parseTarget('Service-B.example.org.:443'), { host: 'service-b.example.org', port: 443 });
  for (const bad of ['', '127.0.0.1', '::1:9005', '[127.0.0.1]:1', '[::1]:0', 'a:65536', 'bad_name:1', 'x:-1', '[::1]:9005 ', `${'a'.repeat(64)}.org:1`]) {
    assert.throws(() => parseTarget(bad), (e: FlyMeError) => e.code === 'FLYME_INVALID_PARAMS' && e.data.field === 'address', bad);
  }
});

test('parseSni: a DNS name, lower-cased', () => {
  assert.equal(parseSni('Service-B.Example.org'), 'service-b.example.org');
  for (const bad of ['', '127.0.0.1:1', 'a b', '*.example.org']) assert.throws(() => parseSni(bad), (e: FlyMeError) => e.code === 'FLYME_INVALID_PARAMS', bad);
});

test('connectStatus: not the owner → PERMISSION_DENIED, unreachable → UNAVAILABLE, timeout → DEADLINE_EXCEEDED, with the FlyMe code first', () => {
  const cases: Array<[Parameters<typeof flymeError>[0], grpc.status]> = [
    ['FLYME_ID_NOT_AUTHORIZED', grpc.status.PERMISSION_DENIED],
    ['FLYME_UNTRUSTED_CERTIFICATE', grpc.status.PERMISSION_DENIED],
    ['FLYME_PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    ['FLYME_UNREACHABLE', grpc.status.UNAVAILABLE],
    ['FLYME_HANDSHAKE_FAILED', grpc.status.UNAVAILABLE],
    ['FLYME_TIMEOUT', grpc.status.DEADLINE_EXCEEDED],
    ['FLYME_NOT_FOUND', grpc.status.NOT_FOUND],
    ['FLYME_INVALID_PARAMS', grpc.status.INVALID_ARGUMENT],
    ['FLYME_TOO_MANY_REQUESTS', grpc.status.RESOURCE_EXHAUSTED],
  ];
  for (const [code, status] of cases) {
    const s = connectStatus(flymeError(code, 'why'));
    assert.equal(s.code, status, code);
    assert.equal(s.details, `${code}: why`);
  }
  assert.deepEqual(connectStatus(new Error('boom')), { code: grpc.status.INTERNAL, details: 'internal error' });
});
