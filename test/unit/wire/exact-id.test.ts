// Ids are echoed with the exact text they were sent with (JSON-RPC: the response id MUST be the same value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrame, encodeResult, encodeError, ExactNumberId, type JsonRpcId } from '../../../src/wire/jsonrpc.js';
import { topLevelIdToken } from '../../../src/wire/exact-id.js';
import { flymeError } from '../../../src/errors.js';

function requestId(line: string): JsonRpcId {
  const m = parseFrame(Buffer.from(line));
  assert.equal(m.kind, 'request', JSON.stringify(m));
  if (m.kind !== 'request') throw new Error('unreachable');
  return m.id;
}

/** The id's text in an encoded response line. */
function echoed(line: string): string {
  const m = /^\{"jsonrpc":"2\.0","id":(.*?),"(result|error)":/.exec(line);
  assert.ok(m, line);
  return m[1]!;
}

const CASES = ['9007199254740993', '-9007199254740993', '18446744073709551615', '-9223372036854775808',
  '1e400', '-1e400', '1.5', '1.50', '0.1', '-0', '-0.0', '0', '7', '-7', '2.5e-3', '1.0000000000000001e300',
  '9007199254740992', '9007199254740991', '123456789012345678901234567890', '"str"', '"9007199254740993"'];

test('parse → encode echoes every id token byte for byte', () => {
  for (const token of CASES) {
    const id = requestId(`{"jsonrpc":"2.0","id":${token},"method":"ping"}`);
    assert.equal(echoed(encodeResult(id, {})), token, `result for ${token}`);
    assert.equal(echoed(encodeError(id, flymeError('FLYME_INTERNAL', 'x'))), token, `error for ${token}`);
  }
});

test('the id token is found wherever it sits and whatever surrounds it', () => {
  const lines = [
    '{"jsonrpc":"2.0","method":"ping","params":{"id":1,"s":"\\"id\\":2","a":[{"id":3}]},"id":9007199254740993}',
    ' { "id" : 9007199254740993 , "jsonrpc" : "2.0" , "method" : "ping" } ',
    '{"jsonrpc":"2.0","\\u0069d":9007199254740993,"method":"ping"}',
    '{"jsonrpc":"2.0","id":1,"method":"ping","id":9007199254740993}', // the last one wins, as in JSON.parse
    '{"jsonrpc":"2.0","x":"\\\\","id":9007199254740993,"method":"ping"}',
    '{"jsonrpc":"2.0","x":"}","y":{"z":"]"},"id":9007199254740993,"method":"ping"}',
    '\t{"jsonrpc":"2.0",\n"id":9007199254740993\r,"method":"ping"}',
  ];
  for (const line of lines) {
    const id = requestId(line);
    assert.ok(id instanceof ExactNumberId, line);
    assert.equal(echoed(encodeResult(id, {})), '9007199254740993', line);
  }
});

test('ids that a number carries exactly stay plain numbers and strings (no scan needed)', () => {
  assert.equal(requestId('{"jsonrpc":"2.0","id":0,"method":"m"}'), 0);
  assert.equal(requestId('{"jsonrpc":"2.0","id":42,"method":"m"}'), 42);
  assert.equal(requestId('{"jsonrpc":"2.0","id":1.5,"method":"m"}'), 1.5);
  assert.equal(requestId('{"jsonrpc":"2.0","id":9007199254740992,"method":"m"}'), 9007199254740992);
  assert.equal(requestId('{"jsonrpc":"2.0","id":"9007199254740993","method":"m"}'), '9007199254740993');
  assert.deepEqual(requestId('{"jsonrpc":"2.0","id":9007199254740993,"method":"m"}'), new ExactNumberId('9007199254740993'));
});

test('a small safe integer written with a fraction or exponent keeps its value, in shortest form', () => {
  // Documented: ids that parse to a safe integer below 10^15 are not re-read (the hot path); 1E2 is 100.
  assert.equal(echoed(encodeResult(requestId('{"jsonrpc":"2.0","id":1E2,"method":"m"}'), {})), '100');
  assert.equal(echoed(encodeResult(requestId('{"jsonrpc":"2.0","id":1.0,"method":"m"}'), {})), '1');
});

test('an id past the double range (1e400) is a valid number id, not refused', () => {
  const id = requestId('{"jsonrpc":"2.0","id":1e400,"method":"m"}');
  assert.deepEqual(id, new ExactNumberId('1e400'));
});

test('ids that are invalid for other reasons still carry their exact text in the error', () => {
  const m = parseFrame(Buffer.from('{"jsonrpc":"1.0","id":9007199254740993,"method":"m"}'));
  assert.equal(m.kind, 'invalid');
  if (m.kind !== 'invalid') return;
  assert.equal(echoed(encodeError(m.id, m.error)), '9007199254740993');
});

test('a response line with a big id parses to the exact id (client side)', () => {
  const m = parseFrame(Buffer.from('{"jsonrpc":"2.0","id":-9007199254740993,"result":{}}'));
  assert.equal(m.kind, 'response');
  if (m.kind !== 'response') return;
  assert.deepEqual(m.id, new ExactNumberId('-9007199254740993'));
});

test('topLevelIdToken: absent id, nested ids only, non-object', () => {
  assert.equal(topLevelIdToken('{"a":1}'), undefined);
  assert.equal(topLevelIdToken('{"a":{"id":5}}'), undefined);
  assert.equal(topLevelIdToken('[1]'), undefined);
  assert.equal(topLevelIdToken('{}'), undefined);
  assert.equal(topLevelIdToken('{"id":12e5}'), '12e5');
});
