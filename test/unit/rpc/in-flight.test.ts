import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightTable } from '../../../src/rpc/in-flight.js';
import { ExactNumberId } from '../../../src/wire/jsonrpc.js';

test('exact numeric ids are keyed by their text, apart from strings and plain numbers', () => {
  const t = new InFlightTable<string>();
  t.set(new ExactNumberId('9007199254740993'), 'a');
  assert.ok(t.has(new ExactNumberId('9007199254740993')), 'the same text is the same id (duplicate detection)');
  assert.ok(!t.has(new ExactNumberId('9007199254740995')), '...995 also rounds to ...996 as a double but is another id');
  assert.ok(!t.has(9007199254740992));
  assert.ok(!t.has('9007199254740993'));
  t.set(9007199254740992, 'b');
  t.set('9007199254740993', 'c');
  t.set(5, 'd');
  assert.ok(!t.has('5'));
  assert.equal(t.size, 4);
  assert.equal(t.get(new ExactNumberId('9007199254740993')), 'a');
  const ids = [...t].map(([id]) => (id instanceof ExactNumberId ? `exact:${id.text}` : `${typeof id}:${id}`));
  assert.deepEqual(ids.sort(), ['exact:9007199254740993', 'number:5', 'number:9007199254740992', 'string:9007199254740993']);
  assert.ok(t.delete(new ExactNumberId('9007199254740993')));
  assert.ok(!t.delete(new ExactNumberId('9007199254740993')));
  assert.equal(t.size, 3);
  assert.deepEqual([...t.values()].sort(), ['b', 'c', 'd']);
  t.clear();
  assert.equal(t.size, 0);
});
