// One remote address may hold at most `maxConnectionsPerPeer` TCP connections (a slowloris cannot take
// every slot); the refused peer gets FLYME_TOO_MANY_CONNECTIONS, and a slot freed by a close is usable again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { listen } from '../../../src/transport/listener.js';

test('per-address connection cap: the third connection from 127.0.0.1 is refused, a freed slot is reused', async () => {
  const accepted: Socket[] = [];
  const refused: string[] = [];
  const l = await listen('tcp://127.0.0.1:0', {
    maxConnectionsPerPeer: 2,
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

test('per-peer cap on a Unix socket counts per uid: root\'s third connection is refused, another uid still connects', { skip: process.getuid?.() !== 0 && 'needs root (a second uid)' }, async () => {
  const { mkdtempSync, rmSync, chmodSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'flyme-peer-'));
  chmodSync(dir, 0o755);
  const accepted: Array<{ uid?: number; socket: Socket }> = [];
  const l = await listen(`unix://${join(dir, 's.sock')}`, { socketMode: 0o666, maxConnectionsPerPeer: 2, onConnection: (c) => { accepted.push({ uid: c.peer?.uid, socket: c.socket as Socket }); } });
  const path = join(dir, 's.sock');
  const mine: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) mine.push(await new Promise<Socket>((r) => { const s = connect(path, () => r(s)); s.on('error', () => undefined); }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(accepted.filter((a) => a.uid === 0).length, 2, 'root holds two slots, the third was refused');
    const other = spawnSync(process.execPath, ['-e', `const s = require('net').connect(${JSON.stringify(path)}); s.on('connect', () => setTimeout(() => process.exit(0), 200)); s.on('error', () => process.exit(1));`], { uid: 65534, gid: 65534 });
    assert.equal(other.status, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(accepted.some((a) => a.uid === 65534), 'uid 65534 has slots of its own');
  } finally {
    for (const s of mine) s.destroy();
    for (const a of accepted) a.socket.destroy();
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every loopback address is one peer: a local user cycling 127.0.0.2, .3, .4 gets no more slots than the cap', async () => {
  const accepted: Socket[] = [];
  const refused: string[] = [];
  const l = await listen('tcp://127.0.0.1:0', {
    maxConnectionsPerPeer: 2,
    onConnection: (c) => { accepted.push(c.socket as Socket); },
    onRefused: (e) => { refused.push(e.code); },
  });
  const port = l.address.kind === 'tcp' ? l.address.port : 0;
  const from = (localAddress: string) => new Promise<Socket>((r) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => r(s));
    s.on('error', () => undefined);
  });
  const mine: Socket[] = [];
  try {
    for (const a of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) mine.push(await from(a));
    for (let i = 0; i < 50 && accepted.length + refused.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(accepted.length, 2, 'two slots for all of loopback');
    assert.deepEqual(refused, ['FLYME_TOO_MANY_CONNECTIONS', 'FLYME_TOO_MANY_CONNECTIONS']);
  } finally {
    for (const s of [...mine, ...accepted]) s.destroy();
    await l.close();
  }
});

test('addressPeer: loopback (v4, v6, v4-mapped) is one peer, IPv6 counts by /64, other IPv4 by address', async () => {
  const { addressPeer } = await import('../../../src/transport/peer-limit.js');
  for (const a of ['127.0.0.1', '127.0.0.101', '127.255.1.2', '::1', '::ffff:127.0.0.9']) assert.equal(addressPeer(a), 'loopback', a);
  assert.equal(addressPeer('10.0.0.1'), '10.0.0.1');
  assert.equal(addressPeer('::ffff:10.0.0.1'), '10.0.0.1');
  assert.notEqual(addressPeer('10.0.0.1'), addressPeer('10.0.0.2'), 'control: two IPv4 hosts are two peers');
  assert.equal(addressPeer('2001:db8:0:1::5'), addressPeer('2001:0db8:0000:0001:ffff:1:2:3'));
  assert.equal(addressPeer('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.notEqual(addressPeer('2001:db8:0:1::5'), addressPeer('2001:db8:0:2::5'), 'control: another /64 is another peer');
  assert.equal(addressPeer('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressPeer(undefined), '?');
});
