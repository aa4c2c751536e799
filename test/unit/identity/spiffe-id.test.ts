import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SpiffeId, parseTrustDomain } from '../../../src/identity/index.js';
import { FlyMeError } from '../../../src/errors.js';

const good: [string, string, string][] = [
  ['spiffe://example.org', 'example.org', ''],
  ['spiffe://example.org/workload', 'example.org', '/workload'],
  ['spiffe://flyme.local/ns/prod/sa/api', 'flyme.local', '/ns/prod/sa/api'],
  ['spiffe://a-b_c.d9/x', 'a-b_c.d9', '/x'],
  ['spiffe://td/AZaz09.-_', 'td', '/AZaz09.-_'],
  ['spiffe://td/.path', 'td', '/.path'],
  ['spiffe://td/..path', 'td', '/..path'],
  ['spiffe://td/...', 'td', '/...'],
  ['spiffe://1.2.3.4/x', '1.2.3.4', '/x'],
];

const bad: [string, string][] = [
  ['', 'empty'],
  ['s', 'scheme'],
  ['spiffe:/', 'scheme'],
  ['spiffe:/td/path', 'scheme'],
  ['Spiffe://td/path', 'scheme'],
  ['SPIFFE://td', 'scheme'],
  ['https://td/path', 'scheme'],
  ['td/path', 'scheme'],
  ['spiffe://', 'trust-domain-missing'],
  ['spiffe:///', 'trust-domain-missing'],
  ['spiffe:///path', 'trust-domain-missing'],
  ['spiffe://Example.org/x', 'trust-domain-char'],
  ['spiffe://exa mple/x', 'trust-domain-char'],
  ['spiffe://td$/x', 'trust-domain-char'],
  ['spiffe://tdé/x', 'trust-domain-char'],
  ['spiffe://td:8080/x', 'port'],
  ['spiffe://user@td/x', 'userinfo'],
  ['spiffe://user:pw@td/x', 'port'],
  ['spiffe://%62ad/x', 'percent-encoding'],
  ['spiffe://td/%62%61%64', 'percent-encoding'],
  ['spiffe://td/path?query', 'query'],
  ['spiffe://td/path#frag', 'fragment'],
  ['spiffe://td?x', 'query'],
  ['spiffe://td/', 'trailing-slash'],
  ['spiffe://td/path/', 'trailing-slash'],
  ['spiffe://td//path', 'empty-segment'],
  ['spiffe://td/a//b', 'empty-segment'],
  ['spiffe://td/.', 'dot-segment'],
  ['spiffe://td/..', 'dot-segment'],
  ['spiffe://td/a/./b', 'dot-segment'],
  ['spiffe://td/a/../b', 'dot-segment'],
  ['spiffe://td/pa$th', 'path-char'],
  ['spiffe://td/pa th', 'path-char'],
  ['spiffe://td/pä', 'path-char'],
  ['spiffe://td/a\\b', 'path-char'],
  ['spiffe://td/a\u0000b', 'path-char'],
  [`spiffe://${'a'.repeat(256)}/x`, 'trust-domain-too-long'],
  [`spiffe://td/${'a'.repeat(2048)}`, 'too-long'],
];

test('valid SPIFFE IDs parse into trust domain and path and round-trip', () => {
  for (const [input, td, path] of good) {
    const id = SpiffeId.parse(input);
    assert.equal(id.trustDomain, td, input);
    assert.equal(id.path, path, input);
    assert.equal(id.toString(), input);
    assert.ok(id.equals(SpiffeId.parse(input)));
  }
});

test('invalid SPIFFE IDs are refused with FLYME_INVALID_SPIFFE_ID naming the rule', () => {
  for (const [input, rule] of bad) {
    assert.throws(() => SpiffeId.parse(input), (err: unknown) => {
      if (!(err instanceof FlyMeError)) throw new Error(`${input}: not a FlyMeError`);
      assert.equal(err.code, 'FLYME_INVALID_SPIFFE_ID', input);
      assert.equal(err.data['rule'], rule, `${JSON.stringify(input)}: ${err.message}`);
      assert.match(err.message, /^invalid SPIFFE ID: /);
      return true;
    });
  }
});

test('the error message names the illegal character', () => {
  assert.throws(() => SpiffeId.parse('spiffe://fooX.org/a'), /trust domain contains uppercase or illegal character 'X'/);
});

test('trust domain charset checked over every byte 0..255', () => {
  for (let b = 0; b < 256; b++) {
    const c = String.fromCharCode(b);
    const ok = /[a-z0-9._-]/.test(c);
    const run = (): SpiffeId => SpiffeId.parse(`spiffe://t${c}d/x`);
    if (ok) assert.equal(run().trustDomain, `t${c}d`);
    else if (c === '/') assert.equal(run().trustDomain, 't');
    else assert.throws(run, { code: 'FLYME_INVALID_SPIFFE_ID' }, `byte ${b}`);
  }
});

test('path charset checked over every byte 0..255', () => {
  for (let b = 0; b < 256; b++) {
    const c = String.fromCharCode(b);
    const run = (): SpiffeId => SpiffeId.parse(`spiffe://td/p${c}q`);
    if (/[A-Za-z0-9._-]/.test(c)) assert.equal(run().path, `/p${c}q`);
    else if (c === '/') assert.equal(run().path, '/p/q');
    else assert.throws(run, { code: 'FLYME_INVALID_SPIFFE_ID' }, `byte ${b}`);
  }
});

test('2048 bytes is accepted, 2049 refused', () => {
  const prefix = 'spiffe://td/';
  assert.equal(SpiffeId.parse(prefix + 'a'.repeat(2048 - prefix.length)).toString().length, 2048);
  assert.throws(() => SpiffeId.parse(prefix + 'a'.repeat(2049 - prefix.length)), { code: 'FLYME_INVALID_SPIFFE_ID' });
});

test('memberOf compares trust domains exactly; equals compares whole IDs', () => {
  const id = SpiffeId.parse('spiffe://flyme.local/a');
  assert.ok(id.memberOf('flyme.local'));
  assert.ok(!id.memberOf('flyme.localx'));
  assert.ok(!id.memberOf('FLYME.local'));
  assert.ok(!id.memberOf('flyme'));
  assert.ok(!id.equals(SpiffeId.parse('spiffe://flyme.local/a/b')));
  assert.ok(SpiffeId.parse('spiffe://flyme.local').isTrustDomainId);
  assert.equal(JSON.stringify({ id }), '{"id":"spiffe://flyme.local/a"}');
  assert.equal(SpiffeId.fromParts('flyme.local', '/a').toString(), 'spiffe://flyme.local/a');
});

test('parseTrustDomain accepts a name or its ID and refuses paths and bad names', () => {
  assert.equal(parseTrustDomain('flyme.local'), 'flyme.local');
  assert.equal(parseTrustDomain('spiffe://flyme.local'), 'flyme.local');
  for (const bad of ['', 'Flyme.local', 'flyme.local/x', 'spiffe://flyme.local/x', 'td:1', 'a@b', 'spiffe://']) {
    assert.throws(() => parseTrustDomain(bad), { code: 'FLYME_INVALID_SPIFFE_ID' }, bad);
  }
});
