import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { decide } from '../../../src/auth/decision.js';
import { Policy } from '../../../src/auth/policy/policy.js';
import { emptyPrincipal, type Principal, type TokenIdentity } from '../../../src/auth/principal.js';
import { flymeError } from '../../../src/errors.js';

const policy = Policy.parse(`roles:
  operator: { methods: [status] }
  viewer: { methods: [ping] }
bindings:
  - { uid: 1000, roles: [viewer] }
`, 'test.yaml');

function withToken(exp: number): Principal {
  const p = emptyPrincipal('unix:///t');
  p.peer = { uid: 1000, gid: 1000 };
  policy.assignRoles(p);
  const t: TokenIdentity = { iss: 'ci', sub: 'deployer', aud: ['flymed'], exp, jti: 'j', claimedRoles: ['operator'] };
  p.token = t;
  p.roles.add('operator');
  p.roleSources.set('operator', 'token:ci/deployer');
  return p;
}

const expiry = (t: TokenIdentity, now: number) => (now >= t.exp * 1000 ? flymeError('FLYME_TOKEN_EXPIRED', 'expired') : undefined);

describe('decide', () => {
  it('grants by a role of the policy, public permissions to anyone, and denies the rest', () => {
    const p = emptyPrincipal('unix:///t');
    p.peer = { uid: 1000, gid: 1000 };
    policy.assignRoles(p);
    assert.equal(decide(policy, p, 'ping', 'ping'), undefined);
    assert.equal(decide(policy, p, 'whoami', 'whoami'), undefined);
    assert.equal(decide(policy, p, 'status', 'status')?.code, 'FLYME_PERMISSION_DENIED');
  });

  it('a token role lasts while the token does, then the call says why', () => {
    const p = withToken(2000);
    assert.equal(decide(policy, p, 'status', 'status', { checkToken: expiry, now: 1_999_999 }), undefined);
    const e = decide(policy, p, 'status', 'status', { checkToken: expiry, now: 2_000_000 });
    assert.equal(e?.code, 'FLYME_TOKEN_EXPIRED');
    assert.equal(p.roles.has('operator'), false);
    assert.equal(p.token, undefined);
    assert.deepEqual(p.tokenLost?.roles, ['operator']);
    // Roles from the policy stay.
    assert.equal(decide(policy, p, 'ping', 'ping', { checkToken: expiry, now: 2_000_001 }), undefined);
    // A permission the token never granted: an ordinary denial.
    assert.equal(decide(policy, p, 'kill', 'kill', { checkToken: expiry, now: 2_000_001 })?.code, 'FLYME_PERMISSION_DENIED');
  });

  it('without a token check (library users who verify per call) roles are taken as they are', () => {
    const p = withToken(1);
    assert.equal(decide(policy, p, 'status', 'status'), undefined);
  });

  it('explain gives the decision the servers make', () => {
    assert.equal(policy.explain('ping', { uid: 1000 }).allowed, true);
    assert.equal(policy.explain('status', { uid: 1000 }).allowed, false);
    assert.equal(policy.explain('whoami', {}).allowed, true);
  });
});
