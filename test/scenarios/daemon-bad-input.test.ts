// Garbage, invalid UTF-8, batches and oversize frames get errors; the connection (or the daemon) survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, RawPeer } from '../helpers/daemon.js';

const ping = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: { message: 'ok' } }) + '\n';

test('garbage line → -32700 with id null, and the next line is served', async () => {
  const d = await startDaemon();
  try {
    const p = await RawPeer.open(d.socket);
    p.send('this is not json\n');
    const e = await p.next();
    assert.equal(e.id, null);
    assert.equal(e.error.code, -32700);
    assert.equal(e.error.data.code, 'FLYME_PARSE_ERROR');
    p.send(ping(1));
    const r = await p.next();
    assert.equal(r.id, 1);
    assert.equal(r.result.message, 'ok');
    p.destroy();
  } finally {
    await d.stop();
  }
});

test('invalid UTF-8 → FLYME_INVALID_UTF8, connection still works', async () => {
  const d = await startDaemon();
  try {
    const p = await RawPeer.open(d.socket);
    p.send(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}\n')]));
    const e = await p.next();
    assert.equal(e.error.code, -32700);
    assert.equal(e.error.data.code, 'FLYME_INVALID_UTF8');
    p.send(ping(2));
    assert.equal((await p.next()).id, 2);
    p.destroy();
  } finally {
    await d.stop();
  }
});

test('batches, bad params and unknown methods get their JSON-RPC codes', async () => {
  const d = await startDaemon();
  try {
    const p = await RawPeer.open(d.socket);
    p.send('[' + ping(1).trim() + ']\n');
    const b = await p.next();
    assert.equal(b.error.code, -32600);
    assert.match(b.error.message, /batches are not supported/);
    p.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { message: 42 } }) + '\n');
    const bad = await p.next();
    assert.equal(bad.error.code, -32602);
    assert.equal(bad.error.data.field, 'message');
    p.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'nope' }) + '\n');
    const nf = await p.next();
    assert.equal(nf.error.code, -32601);
    assert.equal(nf.error.data.code, 'FLYME_METHOD_NOT_FOUND');
    p.send(ping(4));
    assert.equal((await p.next()).result.message, 'ok');
    p.destroy();
  } finally {
    await d.stop();
  }
});

test('a 2 MiB line → FLYME_FRAME_TOO_LARGE and close; the daemon still serves others', async () => {
  const d = await startDaemon();
  try {
    const other = await RawPeer.open(d.socket);
    const p = await RawPeer.open(d.socket);
    p.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"' + 'x'.repeat(2 * 1024 * 1024) + '"}}\n');
    const e = await p.next();
    assert.equal(e.id, null);
    assert.equal(e.error.data.code, 'FLYME_FRAME_TOO_LARGE');
    assert.equal(await p.waitClosed(), true);
    other.send(ping(9));
    assert.equal((await other.next()).id, 9);
    other.destroy();
  } finally {
    await d.stop();
  }
});

test('a peer that sends nothing is closed at the idle timeout; an active one is not', async () => {
  const d = await startDaemon(['--idle-timeout', '300ms']);
  try {
    const idle = await RawPeer.open(d.socket);
    const e = await idle.next(3000);
    assert.equal(e.error.data.code, 'FLYME_TIMEOUT');
    assert.equal(await idle.waitClosed(2000), true);
    const active = await RawPeer.open(d.socket);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      active.send(ping(i));
      assert.equal((await active.next()).id, i);
    }
    active.destroy();
  } finally {
    await d.stop();
  }
});
