// Fuzz: JSON-RPC classification (src/wire/jsonrpc.ts parseFrame, documented "never throws") for arbitrary bytes,
// arbitrary JSON-RPC-shaped objects and deep nesting; the server's error reply and the client's errorFromWire
// must work on whatever parseFrame returns.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlyMeError, isFlyMeErrorCode } from '../../src/errors.js';
import { encodeError, encodeResult, errorFromWire, parseFrame, type RpcMessage } from '../../src/wire/jsonrpc.js';
import { fcOptions, onlyExpectedErrors } from '../helpers/property.js';
import { jsonish, trickyKey } from '../helpers/fuzz-arbitraries.js';

const never = (_e: unknown): _e is never => false;

/** parseFrame must not throw at all; its result must be usable by the server and the client. */
function classifyAndUse(frame: Buffer): RpcMessage {
  const r = onlyExpectedErrors('parseFrame', () => parseFrame(frame), never);
  assert.ok(r.ok);
  const msg = r.value;
  switch (msg.kind) {
    case 'invalid': {
      assert.ok(msg.error instanceof FlyMeError && isFlyMeErrorCode(msg.error.code));
      assert.ok(msg.id === null || typeof msg.id === 'string' || Number.isFinite(msg.id));
      const line = onlyExpectedErrors('encodeError', () => encodeError(msg.id, msg.error), never);
      assert.ok(line.ok && JSON.parse(line.value).error.data.code === msg.error.code);
      break;
    }
    case 'request':
      assert.ok(typeof msg.id === 'string' ? msg.id.length <= 256 : Number.isFinite(msg.id));
      assert.ok(msg.method.length >= 1 && msg.method.length <= 128);
      assert.ok(msg.params === undefined || (typeof msg.params === 'object' && msg.params !== null));
      assert.equal(JSON.parse(encodeResult(msg.id, null)).id, msg.id);
      break;
    case 'notification':
      assert.ok(msg.method.length >= 1 && msg.method.length <= 128);
      break;
    case 'response':
      if (msg.error) {
        const err = msg.error;
        const e = onlyExpectedErrors('errorFromWire', () => errorFromWire(err), never);
        assert.ok(e.ok && e.value instanceof FlyMeError);
      }
      break;
    default:
      assert.fail(`unknown kind ${(msg as { kind: string }).kind}`);
  }
  return msg;
}

const anyId = fc.oneof(fc.string({ maxLength: 300 }), fc.double(), fc.integer(), fc.constant(null), jsonish);
const message = fc.tuple(fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), jsonish),
    id: anyId,
    method: fc.oneof(fc.string({ maxLength: 140 }), fc.constantFrom('ping', 'authenticate', '__proto__', 'constructor', 'x'.repeat(128), 'x'.repeat(129)), jsonish),
    params: fc.oneof(fc.dictionary(fc.string(), jsonish), fc.array(jsonish), jsonish),
    result: jsonish,
    error: fc.oneof(fc.record({ code: fc.oneof(fc.integer(), jsonish), message: jsonish, data: jsonish }, { requiredKeys: [] }), jsonish),
  },
  { requiredKeys: [] },
), fc.array(fc.tuple(trickyKey, jsonish), { maxLength: 3 })).map(([m, extra]) => Object.fromEntries([...Object.entries(m), ...extra]));

describe('fuzz: parseFrame', () => {
  it('arbitrary bytes: never throws, classified, bounded time', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => { classifyAndUse(Buffer.from(bytes)); }), fcOptions());
  });

  it('arbitrary text (any code points, lone surrogates): never throws', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 256 }), (s) => { classifyAndUse(Buffer.from(s, 'utf8')); }), fcOptions());
  });

  it('JSON-RPC-shaped objects with arbitrary member values: never throws, consistent classification', () => {
    fc.assert(
      fc.property(message, (m) => {
        const msg = classifyAndUse(Buffer.from(JSON.stringify(m)));
        if (msg.kind === 'request' || msg.kind === 'notification') assert.equal((m as { jsonrpc?: unknown }).jsonrpc, '2.0');
      }),
      fcOptions(),
    );
  });

  it('deep nesting (objects, arrays, inside params and results): never throws, bounded time', () => {
    const deep = fc.record({
      // Depth costs V8's JSON.parse about 1 µs per level (a 1 MiB frame of '[' takes ~0.5 s, linear, not a hang):
      // big depths are kept to 50 000 so the per-call bound flags blow-ups, not a loaded machine.
      depth: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }) }),
      open: fc.constantFrom('[', '{"a":', '{"jsonrpc":"2.0","id":1,"method":"m","params":{"p":', '{"jsonrpc":"2.0","id":1,"result":['),
      close: fc.constantFrom(']', '}', ''),
    });
    fc.assert(
      fc.property(deep, ({ depth, open, close }) => {
        const n = Math.min(depth, Math.floor((1024 * 1024) / (open.length + close.length || 1)));
        classifyAndUse(Buffer.from(open.repeat(n) + '1' + close.repeat(n)));
      }),
      fcOptions(),
    );
  });
});
