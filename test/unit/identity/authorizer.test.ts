import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  SpiffeId, authorizeAll, authorizeAny, authorizeAnyOf, authorizeId, authorizeMemberOf, authorizeOneOf, authorizePathPrefix,
  type Authorizer,
} from '../../../src/identity/index.js';

const id = (s: string): SpiffeId => SpiffeId.parse(s);
const allows = (a: Authorizer, s: string): boolean => {
  try {
    a(id(s));
    return true;
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'FLYME_ID_NOT_AUTHORIZED');
    return false;
  }
};

test('authorizeAny allows every ID', () => {
  assert.ok(allows(authorizeAny(), 'spiffe://x/y'));
});

test('authorizeId allows exactly one ID and names both in the denial', () => {
  const a = authorizeId('spiffe://td/flymed');
  assert.ok(allows(a, 'spiffe://td/flymed'));
  assert.ok(!allows(a, 'spiffe://td/flymed/x'));
  assert.ok(!allows(a, 'spiffe://td2/flymed'));
  assert.throws(() => a(id('spiffe://td/evil')), (e: Error) => /spiffe:\/\/td\/evil/.test(e.message) && /expected spiffe:\/\/td\/flymed/.test(e.message));
});

test('authorizeOneOf: list membership; empty list allows nothing', () => {
  const a = authorizeOneOf(['spiffe://td/a', id('spiffe://td/b')]);
  assert.ok(allows(a, 'spiffe://td/a'));
  assert.ok(allows(a, 'spiffe://td/b'));
  assert.ok(!allows(a, 'spiffe://td/c'));
  assert.ok(!allows(authorizeOneOf([]), 'spiffe://td/a'));
});

test('authorizeMemberOf compares trust domains exactly', () => {
  const a = authorizeMemberOf('flyme.local');
  assert.ok(allows(a, 'spiffe://flyme.local/x'));
  assert.ok(allows(a, 'spiffe://flyme.local'));
  assert.ok(!allows(a, 'spiffe://flyme.localhost/x'));
  assert.ok(!allows(a, 'spiffe://evil.flyme.local/x'));
  assert.throws(() => authorizeMemberOf('Bad'), { code: 'FLYME_INVALID_SPIFFE_ID' });
});

test('authorizePathPrefix is segment-aware', () => {
  const a = authorizePathPrefix('td', '/svc');
  assert.ok(allows(a, 'spiffe://td/svc'));
  assert.ok(allows(a, 'spiffe://td/svc/a'));
  assert.ok(allows(a, 'spiffe://td/svc/a/b'));
  assert.ok(!allows(a, 'spiffe://td/svcx'));
  assert.ok(!allows(a, 'spiffe://td/sv'));
  assert.ok(!allows(a, 'spiffe://td'));
  assert.ok(!allows(a, 'spiffe://other/svc'));
  for (const bad of ['', '/', 'svc', '/svc/', '/a/../b']) assert.throws(() => authorizePathPrefix('td', bad), { code: 'FLYME_INVALID_SPIFFE_ID' }, bad);
});

test('authorizeAll needs every authorizer; refuses to be empty', () => {
  const a = authorizeAll(authorizeMemberOf('td'), authorizePathPrefix('td', '/svc'));
  assert.ok(allows(a, 'spiffe://td/svc/a'));
  assert.ok(!allows(a, 'spiffe://td/other'));
  assert.throws(() => authorizeAll(), TypeError);
});

test('authorizeAnyOf needs one authorizer; empty denies; denial lists every expectation', () => {
  const a = authorizeAnyOf(authorizeId('spiffe://td/admin'), authorizePathPrefix('td', '/ops'));
  assert.ok(allows(a, 'spiffe://td/admin'));
  assert.ok(allows(a, 'spiffe://td/ops/x'));
  assert.ok(!allows(a, 'spiffe://td/user'));
  assert.throws(() => a(id('spiffe://td/user')), /expected spiffe:\/\/td\/admin or an ID under spiffe:\/\/td\/ops/);
  assert.ok(!allows(authorizeAnyOf(), 'spiffe://td/a'));
});

test('authorizeAnyOf does not swallow non-authorization errors', () => {
  const broken: Authorizer = () => {
    throw new RangeError('bug');
  };
  assert.throws(() => authorizeAnyOf(broken, authorizeAny())(id('spiffe://td/a')), RangeError);
});
