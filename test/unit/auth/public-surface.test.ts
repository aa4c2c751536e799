// flyme/auth publishes a curated surface: the building blocks users need, never internal helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as auth from '../../../src/auth/index.js';

test('flyme/auth exports its API and no internals', () => {
  for (const name of ['TokenIssuer', 'TokenVerifier', 'JwksFileSource', 'ReplayCache', 'RoleConfig', 'Policy', 'PolicyStore', 'ChannelAcl', 'decide', 'generateSigningKey', 'coalesceSecurityEvents']) {
    assert.ok(name in auth, `${name} is exported`);
  }
  for (const name of ['writeFileAtomic', 'readJsonFile', 'mapJoseError', 'isValidKid', 'checkAlgorithms', 'checkHmacSecret', 'parseDuration']) {
    assert.ok(!(name in auth), `${name} is internal`);
  }
});
