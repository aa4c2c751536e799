// An `events` sink of the wrong shape is refused when the server is built (FLYME_INVALID_CONFIG), not found at
// the first denial, where `events.emit is not a function` turned the denial into gRPC INTERNAL. Control: a sink
// with emit() is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authInterceptor, PeerRegistry, createSecureServer } from '../../../src/grpc/index.js';
import type { SecurityEventSink } from '../../../src/auth/events.js';

test('a wrong-shaped event sink is refused at construction', async () => {
  for (const bad of [{}, { emit: 'x' }, (() => undefined), null]) {
    assert.throws(() => authInterceptor({ peers: new PeerRegistry(), events: bad as unknown as SecurityEventSink }), { code: 'FLYME_INVALID_CONFIG', message: /events must be a SecurityEventSink/ });
  }
  await assert.rejects(createSecureServer({ certsDir: '/nonexistent', events: { push: () => undefined } as unknown as SecurityEventSink }), { code: 'FLYME_INVALID_CONFIG', message: /events must be a SecurityEventSink/ });
  assert.equal(typeof authInterceptor({ peers: new PeerRegistry(), events: { emit: () => undefined } }), 'function');
  assert.equal(typeof authInterceptor({ peers: new PeerRegistry() }), 'function');
});
