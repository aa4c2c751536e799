// Code that runs in TLS event handlers and timers must never throw (a throw there is an uncaught exception that
// ends the server): reading the peer's certificate in the 'secure' handler fails as a rejected refusal, and an
// owner's onPeerInvalidated hook that throws from the sweep still closes the connection. Before the fix both
// threw out of the call (a crash when called from the event or the timer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FlyMeError } from '../../../src/errors.js';
import { authorizeAny, createRootCA, TrustBundle } from '../../../src/identity/index.js';
import { LiveConnections } from '../../../src/identity/tls/live.js';
import { verifyPeer } from '../../../src/identity/tls/verify-peer.js';

test('verifyPeer: a peer certificate that cannot be read is a rejected refusal, not a throw', async () => {
  const root = await createRootCA({ trustDomain: 'cb.test' });
  const socket = { isSessionReused: () => false, getSession: () => undefined, getPeerCertificate: () => { throw new SyntaxError('bad infoAccess'); } } as unknown as TLSSocket;
  let p: Promise<unknown> | undefined;
  assert.doesNotThrow(() => { p = verifyPeer(socket, TrustBundle.fromCertificates([root.cert]), authorizeAny(), 'client'); });
  const err = await p!.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FlyMeError, `a FlyMeError, got ${String(err)}`);
  assert.equal(err.code, 'FLYME_HANDSHAKE_FAILED');
  assert.equal(err.data.reason, 'handshake');
});

test('LiveConnections: a throwing onPeerInvalidated hook does not escape the sweep; the connection is closed', () => {
  const live = new LiveConnections(() => authorizeAny(), () => { throw new TypeError('boom in onPeerInvalidated'); }, 60_000);
  const expired = new PassThrough();
  const valid = new PassThrough();
  const cert = { spiffeId: 'spiffe://cb.test/client', serial: '01', notAfter: '', thumbprint: '', der: new Uint8Array() };
  try {
    live.add(expired, [], cert, Date.now() - 1000);
    live.add(valid, [], cert, Date.now() + 60_000);
    assert.doesNotThrow(() => live.sweep());
    assert.equal(expired.destroyed, true, 'the expired peer is disconnected anyway');
    assert.equal(valid.destroyed, false, 'control: the valid peer stays');
  } finally {
    live.close();
    valid.destroy();
  }
});
