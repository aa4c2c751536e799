// Malformed DNS packets against the registry's DNS server (UDP and TCP): truncated queries, compression
// pointer loops and forward pointers, 64 KiB packets, responses sent as queries, random bytes. None crashes
// the server, none gets an answer larger than a bare 12-byte FORMERR header (undecodable) or the 512-byte
// classic UDP limit, oversize packets get nothing; a well-formed query is answered before and after (control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/daemon.js';
import { decode, meshCerts, query, registryClient, startRegistry, tcpQuery, udpQuery } from '../helpers/mesh.js';

const header = (id: number, qd = 1) => { const h = Buffer.alloc(12); h.writeUInt16BE(id, 0); h.writeUInt16BE(0x0100, 2); h.writeUInt16BE(qd, 4); return h; };

test('registry DNS: malformed packets get no crash and no amplification', { timeout: 120_000 }, async () => {
  const dir = tempDir('flyme-mesh-bad-');
  const certs = await meshCerts(dir, { b: 'spiffe://example.org/svc/service-b' });
  const reg = await startRegistry(dir, ['--dns-rate', '1000']);
  const b = await registryClient(certs, 'b', reg.target);
  const port = reg.dns!.port;
  const control = async () => assert.equal(decode((await udpQuery(port, query('service-b.example.org')))!).answers[0]?.data, '127.0.0.3');
  try {
    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 });
    await control();
    const good = query('service-b.example.org', 'A', 7);
    const bad: Array<[string, Buffer]> = [
      ['pointer loop', Buffer.concat([header(1), Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01])])],
      ['forward pointer', Buffer.concat([header(2), Buffer.from([0xc0, 0x20, 0x00, 0x01, 0x00, 0x01])])],
      ['pointer into the header', Buffer.concat([header(3), Buffer.from([0x03, 0x61, 0x62, 0x63, 0xc0, 0x02, 0x00, 0x01, 0x00, 0x01])])],
      ['label past the end', Buffer.concat([header(4), Buffer.from([0x3f, 0x61, 0x62])])],
      ['65535 questions claimed', Buffer.concat([header(5, 0xffff), good.subarray(12)])],
      ['reserved label type', Buffer.concat([header(6), Buffer.from([0x80, 0x00, 0x00, 0x01, 0x00, 0x01])])],
      ...Array.from({ length: good.length - 12 }, (_, i) => [`truncated at ${12 + i}`, good.subarray(0, 12 + i)] as [string, Buffer]),
    ];
    for (const [what, pkt] of bad) {
      for (const ask of [udpQuery, tcpQuery]) {
        const out = await ask(port, pkt);
        if (out) {
          assert.ok(out.length <= 12 || (out.length <= 512 && out.length <= pkt.length + 128), `${what}: ${out.length}-byte answer to ${pkt.length} bytes`);
          assert.ok((out.readUInt16BE(2) & 0x8000) !== 0, `${what}: the answer is a response`);
        }
      }
    }
    // a response packet sent as a query is never answered (no reflection between servers)
    const asResponse = Buffer.from(good);
    asResponse[2]! |= 0x80;
    assert.equal(await udpQuery(port, asResponse, 500), undefined);
    // 64 KiB: nothing over UDP; over TCP the connection closes without an answer
    assert.equal(await udpQuery(port, Buffer.concat([good, randomBytes(65_000 - good.length)]), 500), undefined);
    assert.equal(await tcpQuery(port, Buffer.concat([good, randomBytes(65_535 - good.length)])), undefined);
    // random bytes
    for (let i = 0; i < 300; i++) {
      const pkt = randomBytes(1 + Math.floor(Math.random() * 600));
      const out = await udpQuery(port, pkt, 100);
      if (!out) continue;
      assert.ok(pkt.length <= 512, `a ${pkt.length}-byte packet was answered`);
      assert.ok(out.length <= 12 || out.length <= Math.min(1232, pkt.length + 128), `${out.length}-byte answer to ${pkt.length} random bytes`);
    }
    assert.ok(reg.proc.proc.exitCode === null, 'the registry is still running');
    await control();
  } finally {
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
