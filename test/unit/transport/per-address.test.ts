// One remote address may hold at most `maxConnectionsPerAddress` TCP connections (a slowloris cannot take
// every slot); the refused peer gets FLYME_TOO_MANY_CONNECTIONS, and a slot freed by a close is usable again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { listen } from '../../../src/transport/listener.js';

test('per-address connection cap: the third connection from 127.0.0.1 is refused, a freed slot is reused', async () => {
  const accepted: Socket[] = [];
  const refused: string[] = [];
  const l = await listen('tcp://127.0.0.1:0', {
    maxConnectionsPerAddress: 2,
    onConnection: (c) => { accepted.push(c.socket as Socket); },
    onRefused: (e) => { refused.push(e.code); },
  });
  const port = l.address.kind === 'tcp' ? l.address.port : 0;
  const open = () => new Promise<{ s: Socket; data: () => string }>((r) => {
    let data = '';
    const s = connect(port, '127.0.0.1', () => r({ s, data: () => data }));
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('error', () => undefined);
  });
  const wait = (cond: () => boolean) => new Promise<void>((r) => { const t = setInterval(() => { if (cond()) { clearInterval(t); r(); } }, 10); });
  try {
    const a = await open();
    const b = await open();
    await wait(() => accepted.length === 2);
    const c = await open();
    await wait(() => c.data().includes('\n'));
    assert.match(c.data(), /FLYME_TOO_MANY_CONNECTIONS/);
    assert.deepEqual(refused, ['FLYME_TOO_MANY_CONNECTIONS']);
    a.s.destroy();
    accepted[0]!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await open();
    await wait(() => accepted.length === 3);
    b.s.destroy();
  } finally {
    for (const s of accepted) s.destroy();
    await l.close();
  }
});
