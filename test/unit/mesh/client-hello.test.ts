import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { readClientHello } from '../../../src/mesh/client-hello.js';

/** The first bytes Node's TLS client sends with `servername`. */
async function capture(servername?: string): Promise<Buffer> {
  let got!: (b: Buffer) => void;
  const first = new Promise<Buffer>((r) => { got = r; });
  const srv = createServer((s) => { let buf = Buffer.alloc(0); s.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) { got(buf); s.destroy(); } }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const c = connect({ host: '127.0.0.1', port: (srv.address() as { port: number }).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  c.on('error', () => undefined);
  const b = await first;
  c.destroy();
  srv.close();
  return b;
}

test('reads the SNI of a real ClientHello, byte by byte too', async () => {
  const hello = await capture('Service-B.example.org');
  const r = readClientHello(hello);
  assert.deepEqual(r, { kind: 'ok', sni: 'service-b.example.org', bytes: hello.length });
  for (let n = 0; n < hello.length; n++) assert.equal(readClientHello(hello.subarray(0, n)).kind, 'need-more', `prefix ${n}`);
  const none = await capture();
  assert.deepEqual(readClientHello(none), { kind: 'ok', sni: undefined, bytes: none.length });
});

test('anything else is invalid, never a throw', () => {
  assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind, 'invalid');
  assert.equal(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff])).kind, 'invalid'); // record longer than 16 KiB
  assert.equal(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])).kind, 'invalid'); // ClientHello spans records
  for (let i = 0; i < 2000; i++) {
    const junk = randomBytes(5 + Math.floor(Math.random() * 300));
    junk[0] = 0x16; junk[1] = 0x03; junk.writeUInt16BE(junk.length - 5, 3); junk[5] = 0x01;
    const r = readClientHello(junk);
    assert.ok(r.kind === 'invalid' || r.kind === 'ok');
  }
});
