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

  it('checkNow runs the same checks (replay, expiry) and returns one frozen identity shared by every presentation', async () => {
    let now = at(0);
    const v = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => now });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['r'], ttlSeconds: 600 });
    const first = v.checkNow(t, { connectionId: 'c1' });
    const again = v.checkNow(t, { connectionId: 'c1' });
    assert.equal(first.sub, 's');
    assert.deepEqual([...first.claimedRoles], ['r']);
    assert.equal(again, first); // the remembered verdict's own object: nothing copied per call
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.claimedRoles) && Object.isFrozen(first.aud));
    assert.throws(() => (first.claimedRoles as string[]).push('admin'), TypeError);
    // verifyNow still hands out copies the caller may change, and they do not reach the shared verdict.
    const copy = v.verifyNow(t, { connectionId: 'c1' }).identity;
    copy.claimedRoles.push('admin');
    assert.deepEqual([...v.checkNow(t, { connectionId: 'c1' }).claimedRoles], ['r']);
    assert.throws(() => v.checkNow(t, { connectionId: 'c2' }), code('FLYME_TOKEN_REPLAYED'));
    now = at(700);
    assert.throws(() => v.checkNow(t, { connectionId: 'c1' }), code('FLYME_TOKEN_EXPIRED'));
  });

  it("a caller's check gets its own copy: changing it cannot change what later presentations see", async () => {
    const v = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => at(0) });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['r'], ttlSeconds: 600 });
    v.verifyNow(t, { connectionId: 'c1', check: (id) => { id.claimedRoles.push('admin'); id.sub = 'root'; } });
    const later = v.checkNow(t, { connectionId: 'c1' });
    assert.equal(later.sub, 's');
    assert.deepEqual([...later.claimedRoles], ['r']);
  });
});
