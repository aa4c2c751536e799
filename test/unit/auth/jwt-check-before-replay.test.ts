// A token refused by the caller's own check (e.g. too many roles) is not spent: its jti is recorded only
// after every check has passed, so the same token, once acceptable, still verifies once — and only once.
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlyMeError, flymeError } from '../../../src/errors.js';
import { TokenIssuer, TokenVerifier, generateSigningKey } from '../../../src/auth/index.js';

it('the jti is consumed only after the caller\'s checks pass', async () => {
  const key = await generateSigningKey('ES256', 'k1');
  const token = await (await TokenIssuer.create({ key: key.privateJwk })).issue({ sub: 's', aud: 'flymed', roles: ['a', 'b', 'c'], oneTime: true });
  const verifier = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed' });
  const tooMany = (id: { claimedRoles: string[] }) => {
    if (id.claimedRoles.length > 2) throw flymeError('FLYME_TOKEN_INVALID', 'too many roles');
  };
  await assert.rejects(verifier.verify(token, { check: tooMany }), (e: unknown) => e instanceof FlyMeError && /too many roles/.test(e.message));
  await assert.rejects(verifier.verify(token, { check: tooMany }), (e: unknown) => e instanceof FlyMeError && /too many roles/.test(e.message));
  // Control: accepted once, then a replay.
  const v = await verifier.verify(token);
  assert.equal(v.identity.sub, 's');
  assert.ok(v.keyFingerprint);
  await assert.rejects(verifier.verify(token), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_TOKEN_REPLAYED');
});
