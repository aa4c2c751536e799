// A token presented again reuses the signature check's verdict only while it would still be accepted: not after exp or the
// lifetime limit, not before nbf, not once the key set changed (key removed = refused at once), and never for
// a token that differs by one character. Binding and replay still run on every presentation. The control:
// a re-presentation inside the window is accepted without a second signature check.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { TokenIssuer, TokenVerifier, generateSigningKey, type GeneratedKey } from '../../../src/auth/index.js';
import { T0, at, code } from './token-clock.js';
import { VerificationKeySet } from '../../../src/auth/jwt/verification-keys.js';
import type { KeySource } from '../../../src/auth/jwt/jwks-source.js';


/** A key source that counts signature-key lookups (one per signature verification) and can swap its set. */
function countingSource(jwks: object[]): KeySource & { lookups: number; swap(keys: object[]): void } {
  let set = VerificationKeySet.fromJwks({ keys: jwks }, ['ES256']);
  const src = {
    lookups: 0,
    current: () => ({ ...set, kids: set.kids, keyFingerprint: (k: string) => set.keyFingerprint(k), keyFor: (kid: string, alg: string) => { src.lookups++; return set.keyFor(kid, alg); } }) as unknown as VerificationKeySet,
    swap: (keys: object[]) => { set = VerificationKeySet.fromJwks({ keys }, ['ES256']); cached = undefined; },
  };
  // current() must return the same object while the set is unchanged (that is what a real source does).
  let cached: VerificationKeySet | undefined;
  const current = src.current;
  src.current = () => (cached ??= current());
  return src;
}

describe('verdict cache', () => {
  let key: GeneratedKey;
  let other: GeneratedKey;
  let issuer: TokenIssuer;
  before(async () => {
    key = await generateSigningKey('ES256', 'k1');
    other = await generateSigningKey('ES256', 'k2');
    issuer = await TokenIssuer.create({ key: key.privateJwk, clock: () => T0 });
  });

  it('control: the same token again is accepted without a second signature check; callers get their own copies', async () => {
    let now = at(0);
    const keys = countingSource([key.publicJwk!]);
    const v = new TokenVerifier({ keys, audience: 'flymed', clock: () => now });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', roles: ['r'], ttlSeconds: 600 });
    const a = await v.verify(t, { connectionId: 'c1' });
    now = at(100);
    const b = await v.verify(t, { connectionId: 'c1' });
    assert.equal(keys.lookups, 1);
    a.identity.claimedRoles.push('admin');
    assert.deepEqual(b.identity.claimedRoles, ['r']);
    assert.deepEqual((await v.verify(t, { connectionId: 'c1' })).identity.claimedRoles, ['r']);
  });

  it('past exp the remembered verdict is not used: FLYME_TOKEN_EXPIRED', async () => {
    let now = at(0);
    const v = new TokenVerifier({ keys: countingSource([key.publicJwk!]), audience: 'flymed', clock: () => now, clockSkewSeconds: 0 });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 60 });
    await v.verify(t, { connectionId: 'c1' });
    now = at(61);
    await assert.rejects(v.verify(t, { connectionId: 'c1' }), code('FLYME_TOKEN_EXPIRED'));
  });

  it('a key removed from the set refuses the token at once, cached or not', async () => {
    const keys = countingSource([key.publicJwk!, other.publicJwk!]);
    const v = new TokenVerifier({ keys, audience: 'flymed', clock: () => at(1) });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 600 });
    await v.verify(t, { connectionId: 'c1' });
    keys.swap([other.publicJwk!]);
    await assert.rejects(v.verify(t, { connectionId: 'c1' }), code('FLYME_TOKEN_INVALID'));
  });

  it('binding and replay still run on a re-presentation: another connection is refused', async () => {
    const v = new TokenVerifier({ keys: countingSource([key.publicJwk!]), audience: 'flymed', clock: () => at(1) });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 600 });
    await v.verify(t, { connectionId: 'c1' });
    await assert.rejects(v.verify(t, { connectionId: 'c2' }), code('FLYME_TOKEN_REPLAYED'));
  });

  it('a token one character away from a remembered one gets a full verification and is refused', async () => {
    const keys = countingSource([key.publicJwk!]);
    const v = new TokenVerifier({ keys, audience: 'flymed', clock: () => at(1) });
    const t = await issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 600 });
    await v.verify(t, { connectionId: 'c1' });
    const last = t.at(-2) === 'A' ? 'B' : 'A';
    const forged = t.slice(0, -2) + last + t.at(-1);
    await assert.rejects(v.verify(forged, { connectionId: 'c1' }), code('FLYME_TOKEN_INVALID'));
    assert.equal(keys.lookups, 2);
  });

  it('at most 1024 verdicts, in two generations: a token presented again after 600 others is still remembered; after 1100 others it is verified again', async () => {
    const keys = countingSource([key.publicJwk!]);
    const v = new TokenVerifier({ keys, audience: 'flymed', clock: () => at(0) });
    const issue = () => issuer.issue({ sub: 's', aud: 'flymed', ttlSeconds: 600 });
    const kept = await issue();
    const first = v.checkNow(kept, { connectionId: 'c1' });
    const others = await Promise.all(Array.from({ length: 1100 }, issue));
    for (const t of others.slice(0, 600)) v.checkNow(t, { connectionId: 'c1' });
    const lookups = keys.lookups;
    assert.equal(v.checkNow(kept, { connectionId: 'c1' }), first); // control: remembered (moved to the current generation)
    assert.equal(keys.lookups, lookups);
    for (const t of others.slice(600)) v.checkNow(t, { connectionId: 'c1' }); // 500 more: kept is still within the last 1024
    assert.equal(v.checkNow(kept, { connectionId: 'c1' }), first);
    for (const t of others) v.checkNow(t, { connectionId: 'c1' }); // every other one again: 1100 distinct tokens since kept
    const before = keys.lookups;
    const again = v.checkNow(kept, { connectionId: 'c1' });
    assert.notEqual(again, first); // forgotten: verified anew (a new frozen identity)
    assert.equal(keys.lookups, before + 1);
    assert.equal(again.sub, 's');
  });

  it('the last presentation of a connection: a new copy of its text (as each call\'s header brings) reuses its verdict until the key set changes; tokens and connections taking turns keep theirs; a near copy is refused on any connection', async () => {
    const keys = countingSource([key.publicJwk!]);
    const v = new TokenVerifier({ keys, audience: 'flymed', clock: () => at(1) });
    const a = await issuer.issue({ sub: 'a', aud: 'flymed', ttlSeconds: 600 });
    const b = await issuer.issue({ sub: 'b', aud: 'flymed', ttlSeconds: 600 });
    const copy = (t: string) => Buffer.from(t).toString('latin1'); // equal text, another string object
    const first = v.checkNow(a, { connectionId: 'c1' });
    assert.equal(v.checkNow(copy(a), { connectionId: 'c1' }), first);
    assert.equal(v.checkNow(b, { connectionId: 'c2' }).sub, 'b');
    for (let i = 0; i < 3; i++) {
      assert.equal(v.checkNow(copy(a), { connectionId: 'c1' }).sub, 'a');
      assert.equal(v.checkNow(copy(b), { connectionId: 'c2' }).sub, 'b');
    }
    assert.equal(keys.lookups, 2); // one signature check per token
    for (let i = 0; i < 3; i++) assert.equal(v.checkNow(copy(a), { connectionId: 'c1' }), first); // the same connection again and again
    const near = a.slice(0, -2) + (a.at(-2) === 'A' ? 'B' : 'A') + a.at(-1);
    assert.throws(() => v.checkNow(near, { connectionId: 'c1' }), code('FLYME_TOKEN_INVALID')); // right after a, same connection
    assert.throws(() => v.checkNow(near, { connectionId: 'c2' }), code('FLYME_TOKEN_INVALID'));
    assert.equal(keys.lookups, 4); // each near copy was verified in full
    assert.equal(v.checkNow(copy(b), { connectionId: 'c2' }).sub, 'b');
    // The key set changes (the same key published again): the last token's verdict is not reused, it is verified anew.
    keys.swap([key.publicJwk!]);
    assert.equal(v.checkNow(copy(b), { connectionId: 'c2' }).sub, 'b');
    assert.equal(keys.lookups, 5);
    // And a key removed refuses the last token at once.
    keys.swap([other.publicJwk!]);
    assert.throws(() => v.checkNow(copy(b), { connectionId: 'c2' }), code('FLYME_TOKEN_INVALID'));
    assert.throws(() => v.checkNow(copy(a), { connectionId: 'c1' }), code('FLYME_TOKEN_INVALID'));
  });
});
