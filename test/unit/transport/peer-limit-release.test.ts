// PeerLimit counts a peer's sockets with one release function shared by all of them (no closure per socket):
// every close gives back exactly one slot, the entry goes when the last socket closes, and a peer that comes
// back starts from zero with its full allowance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PeerLimit } from '../../../src/transport/peer-limit.js';

const fakeSocket = () => new EventEmitter() as unknown as Socket;

test('PeerLimit: each close frees one slot, the entry goes with the last socket, a returning peer gets its full allowance', () => {
  const limit = new PeerLimit(2);
  const [a, b, c, d, e, f] = Array.from({ length: 6 }, fakeSocket) as [Socket, Socket, Socket, Socket, Socket, Socket];
  assert.equal(limit.admit(a, 'uid 1'), undefined);
  assert.equal(limit.admit(b, 'uid 1'), undefined);
  assert.equal(limit.admit(c, 'uid 1')?.code, 'FLYME_TOO_MANY_CONNECTIONS', 'third socket of uid 1 refused');
  assert.equal(limit.admit(c, 'uid 2'), undefined, 'another peer has its own count');
  assert.equal(limit.openOf('uid 1'), 2);
  a.emit('close');
  assert.equal(limit.openOf('uid 1'), 1);
  assert.equal(limit.admit(d, 'uid 1'), undefined, 'the freed slot is usable again');
  assert.equal(limit.admit(e, 'uid 1')?.code, 'FLYME_TOO_MANY_CONNECTIONS');
  b.emit('close');
  d.emit('close');
  assert.equal(limit.openOf('uid 1'), 0, 'entry gone with the last socket');
  assert.equal(limit.openOf('uid 2'), 1, 'closing uid 1 sockets never touches uid 2');
  assert.equal(limit.admit(e, 'uid 1'), undefined);
  assert.equal(limit.admit(f, 'uid 1'), undefined, 'a returning peer has its full allowance');
  assert.equal(limit.admit(fakeSocket(), 'uid 1')?.code, 'FLYME_TOO_MANY_CONNECTIONS', 'and no more');
  assert.equal(limit.openOf('uid 1'), 2);
  for (const s of [e, f, c]) s.emit('close');
  assert.equal(limit.openOf('uid 1'), 0);
  assert.equal(limit.openOf('uid 2'), 0);
});
