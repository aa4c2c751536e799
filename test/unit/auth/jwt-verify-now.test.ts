// TokenVerifier.verifyNow is verify() without the promise (the gRPC interceptor decides a call in the tick its
// metadata arrives): it must refuse exactly what verify() refuses, by throwing before it returns (replay on
// another connection, expiry, a key removed from the set), and verify() must still report a refusal as a rejection.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { TokenIssuer, TokenVerifier, generateSigningKey, type GeneratedKey } from '../../../src/auth/index.js';
import { T0, at, code } from './token-clock.js';


describe('verifyNow', () => {
  let key: GeneratedKey;
  let issuer: TokenIssuer;
  before(async () => {
    key = await generateSigningKey('ES256', 'k1');
    issuer = await TokenIssuer.create({ key: key.privateJwk, clock: () => T0 });
  });

  it('accepts a good token (control) and refuses a replay on another connection and an expired token by throwing', async () => {
    let now = at(0);
    const v = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => now });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['r'], ttlSeconds: 600 });
    assert.equal(v.verifyNow(t, { connectionId: 'c1' }).identity.sub, 's');
    assert.equal(v.verifyNow(t, { connectionId: 'c1' }).identity.sub, 's');
    assert.throws(() => v.verifyNow(t, { connectionId: 'c2' }), code('FLYME_TOKEN_REPLAYED'));
    now = at(700);
    assert.throws(() => v.verifyNow(t, { connectionId: 'c1' }), code('FLYME_TOKEN_EXPIRED'));
  });

  it('verify() still rejects (no synchronous throw) with the same code', async () => {
    const v = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => at(0) });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['r'], ttlSeconds: 600 });
    await v.verify(t, { connectionId: 'c1' });
    let p: Promise<unknown> | undefined;
    assert.doesNotThrow(() => { p = v.verify(t, { connectionId: 'c2' }); });
    await assert.rejects(p!, code('FLYME_TOKEN_REPLAYED'));
  });
});
