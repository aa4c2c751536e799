// Registration-entry selectors and entries: strict parsing (a typo is an error), each refusal with a control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlyMeError } from '../../../src/errors.js';
import { parseSelector, selectorKind, selectorString } from '../../../src/ca/selectors.js';
import { DEFAULT_ENTRY_TTL, newEntry } from '../../../src/ca/entries.js';

const is = (code: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};
const HEX = '0123456789abcdef'.repeat(4);

const ACCEPTED: [text: string, kind: string][] = [
  ['unix:uid:0', 'uid'],
  ['unix:uid:1000', 'uid'],
  ['unix:gid:27', 'gid'],
  ['unix:user:www-data', 'user'],
  ['unix:group:docker', 'group'],
  ['unix:path:/usr/bin/node', 'path'],
  [`unix:sha256:${HEX}`, 'sha256'],
];

test('accepted selectors round-trip through parseSelector / selectorString / selectorKind', () => {
  for (const [text, kind] of ACCEPTED) {
    const s = parseSelector(text);
    assert.equal(s.type, 'unix', text);
    assert.equal(s.value, text.slice('unix:'.length), text);
    assert.equal(selectorString(s), text);
    assert.equal(selectorKind(s), kind);
    // The wire form is validated the same way and gives the same selector.
    assert.deepEqual(parseSelector({ type: s.type, value: s.value }), s);
  }
});

// Each refused selector next to the nearest valid one (its control).
const REFUSED: [bad: string, control: string][] = [
  ['unix:uid:-1', 'unix:uid:1'],
  ['unix:uid:01', 'unix:uid:1'],
  ['unix:uid:abc', 'unix:uid:1000'],
  ['unix:uid:99999999999', 'unix:uid:999999999'],
  ['unix:path:relative', 'unix:path:/relative'],
  ['unix:path:/a/../b', 'unix:path:/a/b'],
  ['unix:path:/a//b', 'unix:path:/a/b'],
  [`unix:sha256:${HEX.slice(1)}`, `unix:sha256:${HEX}`],
  [`unix:sha256:${HEX.toUpperCase()}`, `unix:sha256:${HEX}`],
  ['docker:label:x', 'unix:user:x'],
  ['unix:pid:1', 'unix:uid:1'],
  ['uid:1000', 'unix:uid:1000'],
  ['', 'unix:uid:0'],
];

for (const [bad, control] of REFUSED) {
  test(`refused: ${JSON.stringify(bad.length > 40 ? `${bad.slice(0, 40)}…` : bad)} → FLYME_INVALID_CONFIG (control ${control.slice(0, 40)})`, () => {
    assert.equal(selectorString(parseSelector(control)), control);
    assert.throws(() => parseSelector(bad), is('FLYME_INVALID_CONFIG'));
  });
}

test('the wire form is checked as strictly as the text form', () => {
  assert.deepEqual(parseSelector({ type: 'unix', value: 'uid:1000' }), { type: 'unix', value: 'uid:1000' });
  assert.throws(() => parseSelector({ type: 'unix', value: 'uid:01' }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => parseSelector({ type: 'docker', value: 'uid:1000' }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => parseSelector({ type: 'unix', value: 'pid:1' }), is('FLYME_INVALID_CONFIG'));
});

const TD = 'example.org';
const base = () => ({ spiffeId: `spiffe://${TD}/web`, parentId: `spiffe://${TD}/agent/node1`, selectors: ['unix:uid:1000'] as (string | { type: string; value: string })[] });
const TTL_MIN = 10;
const TTL_MAX = 30 * 86400;

test('newEntry control: id assigned, selectors deduplicated, default ttl 3600', () => {
  const now = Date.UTC(2030, 0, 1);
  const e = newEntry(TD, { ...base(), selectors: ['unix:uid:1000', 'unix:uid:1000', { type: 'unix', value: 'uid:1000' }, 'unix:path:/usr/bin/node'] }, now);
  assert.match(e.id, /^[0-9a-f]{24}$/);
  assert.equal(e.spiffeId, `spiffe://${TD}/web`);
  assert.equal(e.parentId, `spiffe://${TD}/agent/node1`);
  assert.deepEqual(e.selectors.map(selectorString), ['unix:uid:1000', 'unix:path:/usr/bin/node']);
  assert.equal(e.ttlSeconds, 3600);
  assert.equal(DEFAULT_ENTRY_TTL, 3600);
  assert.equal(e.hint, '');
  assert.equal(e.createdAt, now / 1000);
  assert.notEqual(newEntry(TD, base()).id, newEntry(TD, base()).id);
});

test('newEntry: spiffeId in another trust domain → FLYME_INVALID_SPIFFE_ID', () => {
  newEntry(TD, base());
  assert.throws(() => newEntry(TD, { ...base(), spiffeId: 'spiffe://other.org/web' }), is('FLYME_INVALID_SPIFFE_ID'));
});

test('newEntry: spiffeId without a path → FLYME_INVALID_SPIFFE_ID', () => {
  newEntry(TD, { ...base(), spiffeId: `spiffe://${TD}/x` });
  assert.throws(() => newEntry(TD, { ...base(), spiffeId: `spiffe://${TD}` }), is('FLYME_INVALID_SPIFFE_ID'));
});

test('newEntry: spiffeId under /agent/ → FLYME_INVALID_SPIFFE_ID', () => {
  newEntry(TD, { ...base(), spiffeId: `spiffe://${TD}/agents/node1` });
  assert.throws(() => newEntry(TD, { ...base(), spiffeId: `spiffe://${TD}/agent/node1` }), is('FLYME_INVALID_SPIFFE_ID'));
});

test('newEntry: parent not spiffe://example.org/agent/NAME → FLYME_INVALID_CONFIG', () => {
  newEntry(TD, { ...base(), parentId: `spiffe://${TD}/agent/n-2.b_c` });
  for (const parentId of [`spiffe://other.org/agent/node1`, `spiffe://${TD}/web`, `spiffe://${TD}/agent`, `spiffe://${TD}/agent/a/b`, `spiffe://${TD}`]) {
    assert.throws(() => newEntry(TD, { ...base(), parentId }), is('FLYME_INVALID_CONFIG'), parentId);
  }
});

test('newEntry: no selectors, or 17 → FLYME_INVALID_CONFIG (16 accepted); a bad selector → FLYME_INVALID_CONFIG', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `unix:uid:${i}`);
  assert.equal(newEntry(TD, { ...base(), selectors: many(16) }).selectors.length, 16);
  assert.throws(() => newEntry(TD, { ...base(), selectors: many(17) }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => newEntry(TD, { ...base(), selectors: [] }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => newEntry(TD, { ...base(), selectors: ['unix:uid:1000', 'unix:uid:01'] }), is('FLYME_INVALID_CONFIG'));
});

test('newEntry: ttl 5 and ttl 31 days → FLYME_INVALID_CONFIG (bounds accepted)', () => {
  assert.equal(newEntry(TD, { ...base(), ttlSeconds: TTL_MIN }).ttlSeconds, TTL_MIN);
  assert.equal(newEntry(TD, { ...base(), ttlSeconds: TTL_MAX }).ttlSeconds, TTL_MAX);
  assert.throws(() => newEntry(TD, { ...base(), ttlSeconds: 5 }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => newEntry(TD, { ...base(), ttlSeconds: 31 * 86400 }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => newEntry(TD, { ...base(), ttlSeconds: TTL_MAX + 1 }), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => newEntry(TD, { ...base(), ttlSeconds: 60.5 }), is('FLYME_INVALID_CONFIG'));
});

test('newEntry: hint of 1025 chars → FLYME_INVALID_CONFIG (1024 accepted)', () => {
  assert.equal(newEntry(TD, { ...base(), hint: 'h'.repeat(1024) }).hint.length, 1024);
  assert.throws(() => newEntry(TD, { ...base(), hint: 'h'.repeat(1025) }), is('FLYME_INVALID_CONFIG'));
});
