import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFrame,
  classify,
  encodeResult,
  encodeError,
  encodeRequest,
  encodeNotification,
  errorFromWire,
  type RpcMessage,
} from '../../../src/wire/jsonrpc.js';
import { FlyMeError, flymeError, ERROR_CATALOG } from '../../../src/errors.js';

const p = (s: string): RpcMessage => parseFrame(Buffer.from(s, 'utf8'));

function expectInvalid(m: RpcMessage, code: string, id: string | number | null = null): FlyMeError {
  assert.equal(m.kind, 'invalid', `expected invalid, got ${JSON.stringify(m)}`);
  if (m.kind !== 'invalid') throw new Error('unreachable');
  assert.ok(m.error instanceof FlyMeError);
  assert.equal(m.error.code, code);
  assert.equal(m.id, id);
  return m.error;
}

test('request is classified with id, method and params', () => {
  const m = p('{"jsonrpc":"2.0","id":7,"method":"status","params":{"a":1}}');
  assert.deepEqual(m, { kind: 'request', id: 7, method: 'status', params: { a: 1 } });
});

test('request with string id and array params, no params', () => {
  assert.deepEqual(p('{"jsonrpc":"2.0","id":"x","method":"m","params":[1]}'), {
    kind: 'request', id: 'x', method: 'm', params: [1],
  });
  assert.deepEqual(p('{"jsonrpc":"2.0","id":0,"method":"m"}'), {
    kind: 'request', id: 0, method: 'm', params: undefined,
  });
});

test('notification is a method without id', () => {
  assert.deepEqual(p('{"jsonrpc":"2.0","method":"ping","params":{}}'), {
    kind: 'notification', method: 'ping', params: {},
  });
});

test('response with result and response with error', () => {
  assert.deepEqual(p('{"jsonrpc":"2.0","id":3,"result":{"ok":true}}'), {
    kind: 'response', id: 3, result: { ok: true },
  });
  const e = p('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}');
  assert.equal(e.kind, 'response');
  if (e.kind !== 'response') return;
  assert.equal(e.id, null);
  assert.deepEqual(e.error, { code: -32700, message: 'bad' });
});

test('response whose error has no numeric code is a protocol error', () => {
  expectInvalid(p('{"jsonrpc":"2.0","id":3,"error":{"message":"x"}}'), 'FLYME_PROTOCOL_ERROR', 3);
  expectInvalid(p('{"jsonrpc":"2.0","id":3,"error":"x"}'), 'FLYME_PROTOCOL_ERROR', 3);
});

test('garbage -> FLYME_PARSE_ERROR with id null, numeric -32700', () => {
  for (const s of ['not json', '{"jsonrpc":"2.0","id":1,', '', '{']) {
    const err = expectInvalid(p(s), 'FLYME_PARSE_ERROR', null);
    assert.equal(err.rpcCode, -32700);
  }
});

test('invalid UTF-8 -> FLYME_INVALID_UTF8', () => {
  const err = expectInvalid(parseFrame(Buffer.from([0xff, 0xfe])), 'FLYME_INVALID_UTF8', null);
  assert.equal(err.rpcCode, -32700);
  // invalid bytes inside an otherwise valid JSON string
  const buf = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), Buffer.from([0xc3]), Buffer.from('"}')]);
  expectInvalid(parseFrame(buf), 'FLYME_INVALID_UTF8', null);
});

test('batch array -> FLYME_INVALID_REQUEST mentioning batches', () => {
  const err = expectInvalid(p('[{"jsonrpc":"2.0","id":1,"method":"m"}]'), 'FLYME_INVALID_REQUEST', null);
  assert.match(err.message, /batch/i);
  assert.equal(err.rpcCode, -32600);
  expectInvalid(p('[]'), 'FLYME_INVALID_REQUEST', null);
});

test('non-object JSON values are invalid requests', () => {
  for (const s of ['1', '"s"', 'null', 'true']) expectInvalid(p(s), 'FLYME_INVALID_REQUEST', null);
});

test('jsonrpc "1.0" -> FLYME_INVALID_REQUEST keeping the id', () => {
  expectInvalid(p('{"jsonrpc":"1.0","id":42,"method":"m"}'), 'FLYME_INVALID_REQUEST', 42);
  expectInvalid(p('{"jsonrpc":"1.0","id":"abc","method":"m"}'), 'FLYME_INVALID_REQUEST', 'abc');
  expectInvalid(p('{"id":5,"method":"m"}'), 'FLYME_INVALID_REQUEST', 5);
});

test('params a string (or number, null, boolean) -> invalid keeping the id', () => {
  expectInvalid(p('{"jsonrpc":"2.0","id":1,"method":"m","params":"x"}'), 'FLYME_INVALID_REQUEST', 1);
  expectInvalid(p('{"jsonrpc":"2.0","id":1,"method":"m","params":3}'), 'FLYME_INVALID_REQUEST', 1);
  expectInvalid(p('{"jsonrpc":"2.0","id":1,"method":"m","params":null}'), 'FLYME_INVALID_REQUEST', 1);
  expectInvalid(p('{"jsonrpc":"2.0","method":"m","params":true}'), 'FLYME_INVALID_REQUEST', null);
});

test('id null in a request -> invalid', () => {
  expectInvalid(p('{"jsonrpc":"2.0","id":null,"method":"m"}'), 'FLYME_INVALID_REQUEST', null);
});

test('bad id types are invalid with id null', () => {
  expectInvalid(p('{"jsonrpc":"2.0","id":{},"method":"m"}'), 'FLYME_INVALID_REQUEST', null);
  expectInvalid(p('{"jsonrpc":"2.0","id":[1],"method":"m"}'), 'FLYME_INVALID_REQUEST', null);
  expectInvalid(p('{"jsonrpc":"2.0","id":true,"method":"m"}'), 'FLYME_INVALID_REQUEST', null);
  expectInvalid(p(`{"jsonrpc":"2.0","id":"${'i'.repeat(257)}","method":"m"}`), 'FLYME_INVALID_REQUEST', null);
  assert.equal(p(`{"jsonrpc":"2.0","id":"${'i'.repeat(256)}","method":"m"}`).kind, 'request');
});

test('method rules: empty, too long, non-string, missing', () => {
  expectInvalid(p('{"jsonrpc":"2.0","id":1,"method":""}'), 'FLYME_INVALID_REQUEST', 1);
  expectInvalid(p(`{"jsonrpc":"2.0","id":1,"method":"${'m'.repeat(129)}"}`), 'FLYME_INVALID_REQUEST', 1);
  assert.equal(p(`{"jsonrpc":"2.0","id":1,"method":"${'m'.repeat(128)}"}`).kind, 'request');
  expectInvalid(p('{"jsonrpc":"2.0","id":1,"method":5}'), 'FLYME_INVALID_REQUEST', 1);
  expectInvalid(p('{"jsonrpc":"2.0","id":1}'), 'FLYME_INVALID_REQUEST', 1);
});

test('classify never throws on odd values', () => {
  for (const v of [undefined, Symbol.for('x'), () => 1, Object.create(null)]) {
    assert.doesNotThrow(() => classify(v));
  }
});

test('encodeResult parses back into a response', () => {
  const line = encodeResult(9, { a: [1, 'b'] });
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1);
  assert.deepEqual(JSON.parse(line), { jsonrpc: '2.0', id: 9, result: { a: [1, 'b'] } });
  assert.deepEqual(parseFrame(Buffer.from(line.slice(0, -1))), { kind: 'response', id: 9, result: { a: [1, 'b'] } });
});

test('encodeResult with a string id containing newlines stays one line', () => {
  const line = encodeResult('a\nb', 'x\ny');
  assert.equal(line.indexOf('\n'), line.length - 1);
  assert.deepEqual(JSON.parse(line), { jsonrpc: '2.0', id: 'a\nb', result: 'x\ny' });
});

test('encodeError: error.code is numeric, error.data.code is the FLYME code', () => {
  const cases: Array<[Parameters<typeof flymeError>[0], number]> = [
    ['FLYME_PARSE_ERROR', -32700],
    ['FLYME_INVALID_UTF8', -32700],
    ['FLYME_INVALID_REQUEST', -32600],
    ['FLYME_METHOD_NOT_FOUND', -32601],
    ['FLYME_INVALID_PARAMS', -32602],
    ['FLYME_INTERNAL', -32603],
    ['FLYME_PERMISSION_DENIED', -32002],
    ['FLYME_FRAME_TOO_LARGE', -32006],
  ];
  for (const [code, num] of cases) {
    assert.equal(ERROR_CATALOG[code][0], num);
    const line = encodeError(null, flymeError(code, `msg ${code}`, { field: 'f' }));
    assert.equal(line.indexOf('\n'), line.length - 1);
    const obj = JSON.parse(line);
    assert.equal(obj.jsonrpc, '2.0');
    assert.equal(obj.id, null);
    assert.equal(obj.error.code, num);
    assert.equal(obj.error.message, `msg ${code}`);
    assert.deepEqual(obj.error.data, { field: 'f', code });
    const back = parseFrame(Buffer.from(line.trimEnd()));
    assert.equal(back.kind, 'response');
  }
});

test('encodeError keeps a numeric or string id', () => {
  assert.equal(JSON.parse(encodeError(5, flymeError('FLYME_INTERNAL', 'x'))).id, 5);
  assert.equal(JSON.parse(encodeError('q', flymeError('FLYME_INTERNAL', 'x'))).id, 'q');
});

test('encodeError -> parseFrame -> errorFromWire round-trips code, message and data', () => {
  const line = encodeError(1, flymeError('FLYME_PERMISSION_DENIED', 'nope', { permission: 'admin' }));
  const m = parseFrame(Buffer.from(line.trimEnd()));
  assert.equal(m.kind, 'response');
  if (m.kind !== 'response' || !m.error) throw new Error('expected error response');
  const err = errorFromWire(m.error);
  assert.ok(err instanceof FlyMeError);
  assert.equal(err.code, 'FLYME_PERMISSION_DENIED');
  assert.equal(err.message, 'nope');
  assert.deepEqual(err.data, { permission: 'admin' });
  assert.equal(err.rpcCode, -32002);
});

test('errorFromWire maps data.code back even when the number disagrees', () => {
  const e = errorFromWire({ code: -32700, message: 'm', data: { code: 'FLYME_INVALID_UTF8' } });
  assert.equal(e.code, 'FLYME_INVALID_UTF8');
  const t = errorFromWire({ code: -1, message: 'm', data: { code: 'FLYME_TIMEOUT' } });
  assert.equal(t.code, 'FLYME_TIMEOUT');
});

test('errorFromWire falls back by number when data.code is missing or unknown', () => {
  assert.equal(errorFromWire({ code: -32700, message: 'm' }).code, 'FLYME_PARSE_ERROR');
  assert.equal(errorFromWire({ code: -32600, message: 'm' }).code, 'FLYME_INVALID_REQUEST');
  assert.equal(errorFromWire({ code: -32601, message: 'm' }).code, 'FLYME_METHOD_NOT_FOUND');
  assert.equal(errorFromWire({ code: -32602, message: 'm', data: { code: 'NOT_A_CODE' } }).code, 'FLYME_INVALID_PARAMS');
  assert.equal(errorFromWire({ code: -32603, message: 'm' }).code, 'FLYME_INTERNAL');
  assert.equal(errorFromWire({ code: 12345, message: 'm' }).code, 'FLYME_INTERNAL');
  assert.equal(errorFromWire({ code: -32002, message: 'm', data: { code: 42 as unknown as string } }).code, 'FLYME_INTERNAL');
});

test('errorFromWire does not inherit prototype names as codes', () => {
  assert.equal(errorFromWire({ code: -32603, message: 'm', data: { code: 'toString' } }).code, 'FLYME_INTERNAL');
  assert.equal(errorFromWire({ code: -32603, message: 'm', data: { code: '__proto__' } }).code, 'FLYME_INTERNAL');
});

test('errorFromWire tolerates a non-string message', () => {
  const e = errorFromWire({ code: -32603, message: 5 as unknown as string });
  assert.equal(e.message, 'error');
});

test('encodeRequest and encodeNotification parse back', () => {
  assert.deepEqual(parseFrame(Buffer.from(encodeRequest(1, 'm', { x: 1 }).trimEnd())), {
    kind: 'request', id: 1, method: 'm', params: { x: 1 },
  });
  assert.deepEqual(parseFrame(Buffer.from(encodeRequest('id', 'm').trimEnd())), {
    kind: 'request', id: 'id', method: 'm', params: undefined,
  });
  assert.deepEqual(parseFrame(Buffer.from(encodeNotification('n', [1]).trimEnd())), {
    kind: 'notification', method: 'n', params: [1],
  });
  assert.deepEqual(parseFrame(Buffer.from(encodeNotification('n').trimEnd())), {
    kind: 'notification', method: 'n', params: undefined,
  });
});
