import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlyMeError } from '../../../src/errors.js';
import { RoleConfig } from '../../../src/auth/index.js';

const is = (c: string) => (e: unknown) => e instanceof FlyMeError && e.code === c;

describe('RoleConfig', () => {
  const roles = RoleConfig.fromObject({ flyme: { billing: ['reader', 'writer'] }, ci: { billing: ['deployer'] } });

  it('grants claimed roles the config allows for (iss, sub)', () => {
    assert.deepEqual(roles.grantedRoles(['writer', 'reader'], 'flyme', 'billing'), { granted: ['reader', 'writer'], ignored: [] });
  });

  it('claimed roles beyond the config are ignored (not granted) and reported', () => {
    assert.deepEqual(roles.grantedRoles(['reader', 'admin'], 'flyme', 'billing'), { granted: ['reader'], ignored: ['admin'] });
    // a role granted by another issuer does not count
    assert.deepEqual(roles.grantedRoles(['deployer'], 'flyme', 'billing'), { granted: [], ignored: ['deployer'] });
    // unknown subject / issuer: nothing
    assert.deepEqual(roles.grantedRoles(['reader'], 'flyme', 'other'), { granted: [], ignored: ['reader'] });
    assert.deepEqual(roles.grantedRoles(['reader'], 'evil', 'billing'), { granted: [], ignored: ['reader'] });
  });

  it('addRole / hasRole / rolesOf / toObject round trip', () => {
    const r = new RoleConfig().addRole('flyme', 'svc', 'b').addRole('flyme', 'svc', 'a');
    assert.equal(r.hasRole('flyme', 'svc', 'a'), true);
    assert.equal(r.hasRole('flyme', 'svc', 'c'), false);
    assert.deepEqual(r.rolesOf('flyme', 'svc'), ['a', 'b']);
    assert.deepEqual(RoleConfig.fromObject(r.toObject()).toObject(), { flyme: { svc: ['a', 'b'] } });
  });

  it('invalid objects are FLYME_INVALID_CONFIG', () => {
    for (const bad of [null, [], 'x', { flyme: [] }, { flyme: { svc: 'reader' } }, { flyme: { svc: [1] } }, { flyme: { svc: ['bad role!'] } }, JSON.parse('{"__proto__": {"svc": ["a"]}}')]) {
      assert.throws(() => RoleConfig.fromObject(bad), is('FLYME_INVALID_CONFIG'), JSON.stringify(bad));
    }
  });
});
