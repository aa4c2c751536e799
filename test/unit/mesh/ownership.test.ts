import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ownership } from '../../../src/mesh/ownership.js';
import { checkAddress, checkName } from '../../../src/mesh/names.js';

const GOOD = `registry:
  names:
    db.example.org: [spiffe://example.org/db, spiffe://example.org/db2]
  templates:
    - name: "{name}.example.org"
      owner: "spiffe://example.org/svc/{name}"
`;

const invalid = (text: string, re: RegExp) => assert.throws(() => Ownership.parse(text, 'reg.yaml', 'example.org'), (e: { code: string; message: string }) => {
  assert.equal(e.code, 'FLYME_INVALID_CONFIG');
  assert.match(e.message, re);
  return true;
});

test('exact names and {name} templates give owners; nobody else owns anything', () => {
  const o = Ownership.parse(GOOD, 'reg.yaml', 'example.org');
  assert.deepEqual(o.owners('db.example.org'), ['spiffe://example.org/db', 'spiffe://example.org/db2', 'spiffe://example.org/svc/db']);
  assert.deepEqual(o.owners('service-b.example.org'), ['spiffe://example.org/svc/service-b']);
  assert.deepEqual(o.owners('a.b.example.org'), [], '{name} is one label');
  assert.deepEqual(o.owners('x.example.org.evil'), []);
  assert.equal(o.assertOwner('spiffe://example.org/svc/service-b', 'service-b.example.org'), 'spiffe://example.org/svc/service-b');
  assert.throws(() => o.assertOwner('spiffe://example.org/svc/service-a', 'service-b.example.org'), /service-a does not own service-b\.example\.org \(owner by reg\.yaml: spiffe:\/\/example\.org\/svc\/service-b\)/);
  assert.throws(() => o.assertOwner(undefined, 'service-b.example.org'), /needs a client certificate/);
  assert.throws(() => Ownership.parse('registry: {}\n', 'r', 'example.org').assertOwner('spiffe://example.org/x', 'x.example.org'), /no rule in r gives x\.example\.org an owner/);
});

test('invalid files name file:line and the field', () => {
  invalid('registry:\n  names:\n    db.example.org: [not-a-spiffe-id]\n', /^reg\.yaml:3: registry\.names\.db\.example\.org\.0: /);
  invalid('registry:\n  names:\n    db.example.com: [spiffe://example.org/db]\n', /reg\.yaml:3: .*not inside the zone example\.org/);
  invalid('registry:\n  templates:\n    - name: "svc.example.org"\n      owner: "spiffe://example.org/{name}"\n', /reg\.yaml:3: registry\.templates\.0\.name: a template name needs \{name\} exactly once/);
  invalid('registry:\n  templates:\n    - name: "{name}.example.org"\n      owner: "spiffe://example.org/svc"\n', /registry\.templates\.0\.owner: a template owner needs \{name\}/);
  invalid('registry:\n  templates:\n    - name: "{name}.other.net"\n      owner: "spiffe://example.org/{name}"\n', /makes names outside the zone/);
  invalid('registry:\n  nmes: {}\n', /reg\.yaml:2: registry\.nmes: unknown field/);
  invalid('roles: {}\n', /required field is missing|unknown field/);
});

test('names and addresses are checked', () => {
  assert.equal(checkName('Service-B.Example.org.', 'example.org'), 'service-b.example.org');
  assert.throws(() => checkName('example.org', 'example.org'), /not inside the registry's zone/);
  assert.throws(() => checkName('-x.example.org', 'example.org'), /not a DNS name/);
  assert.throws(() => checkName(`${'a'.repeat(64)}.example.org`, 'example.org'), /not a DNS name/);
  assert.throws(() => checkName('a_b.example.org', 'example.org'), /not a DNS name/);
  assert.equal(checkAddress('::ffff:127.0.0.1'), '::ffff:7f00:1');
  assert.equal(checkAddress('0:0:0:0:0:0:0:1'), '::1');
  assert.throws(() => checkAddress('127.0.0.1:80'), /not an IPv4 or IPv6 address/);
  assert.throws(() => checkAddress('localhost'), /not an IPv4 or IPv6 address/);
});
