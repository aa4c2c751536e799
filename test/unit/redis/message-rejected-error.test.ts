// A refused pub/sub message is a FlyMeError (code FLYME_MESSAGE_REJECTED, data.reason) like every FlyMe error,
// and `instanceof MessageRejected` still tells it apart from other FlyMe errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlyMeError, flymeError } from '../../../src/errors.js';
import { MessageRejected } from '../../../src/redis/envelope.js';

test('MessageRejected is a FlyMeError with a stable code', () => {
  const e = new MessageRejected('stale', 'issued 40 s ago', 'spiffe://flyme.local/orders');
  assert.ok(e instanceof FlyMeError);
  assert.ok(e instanceof MessageRejected);
  assert.equal(e.code, 'FLYME_MESSAGE_REJECTED');
  assert.deepEqual(e.data, { reason: 'stale', from: 'spiffe://flyme.local/orders' });
  assert.equal(e.toRpcError().data.code, 'FLYME_MESSAGE_REJECTED');
  assert.ok(!(flymeError('FLYME_TIMEOUT', 'x') instanceof MessageRejected), 'another FlyMe error is not a MessageRejected');
});
