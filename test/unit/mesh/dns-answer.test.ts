import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dns from 'dns-packet';
import { answerQuery, MAX_UDP_ANSWER_BYTES, type ZoneView } from '../../../src/mesh/dns-answer.js';
import type { RegistryRecord } from '../../../src/mesh/registry.js';

const now = 1_800_000_000_000;
const rec = (address: string, port = 443): RegistryRecord => ({ name: 'big.example.org', address, port, sni: 'big.example.org', owner: 'spiffe://example.org/svc/big', registeredAt: now, expiresAt: now + 20_000 });
const records = Array.from({ length: 16 }, (_, i) => rec(`2001:db8::${i + 1}`, 8000 + i));
const view: ZoneView = { zone: 'example.org', maxTtl: 30, lookup: (n) => (n === 'big.example.org' ? records : []) };
type D = { rcode: string; flag_tc: boolean; answers: Array<{ data: unknown; ttl: number }>; authorities: Array<{ type: string }> };
const decode = (b: Buffer) => dns.decode(b) as unknown as D;
const q = (name: string, type: dns.RecordType, edns?: number, klass: 'IN' | 'CH' = 'IN') => dns.encode({
  type: 'query', id: 9, flags: dns.RECURSION_DESIRED, questions: [{ type, name, class: klass }],
  ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns } as unknown as dns.Answer] } : {}),
});

test('a UDP answer that does not fit 512 bytes is truncated (TC, no records); TCP gets every record', () => {
  const udp = answerQuery(q('big.example.org', 'AAAA'), view, 'udp', now)!;
  assert.ok(udp.length <= 512);
  const u = decode(udp);
  assert.equal(u.flag_tc, true);
  assert.equal(u.answers.length, 0);
  const t = decode(answerQuery(q('big.example.org', 'AAAA'), view, 'tcp', now)!);
  assert.equal(t.flag_tc, false);
  assert.equal(t.answers.length, 16);
  assert.equal(t.answers[0]!.ttl, 20);
});

test('EDNS raises the UDP limit, but never beyond MAX_UDP_ANSWER_BYTES', () => {
  const big = answerQuery(q('big.example.org', 'AAAA', 4096), view, 'udp', now)!;
  assert.ok(big.length > 512 && big.length <= MAX_UDP_ANSWER_BYTES);
  assert.equal(decode(big).answers.length, 16);
  const srvHuge = answerQuery(q('big.example.org', 'SRV', 65535), view, 'udp', now)!;
  assert.ok(srvHuge.length <= MAX_UDP_ANSWER_BYTES);
});

test('NXDOMAIN with the SOA inside the zone; REFUSED outside it and for other classes; NODATA for other types', () => {
  const nx = decode(answerQuery(q('nope.example.org', 'A'), view, 'udp', now)!);
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities[0]!.type, 'SOA');
  assert.equal(decode(answerQuery(q('big.example.org.evil.net', 'A'), view, 'udp', now)!).rcode, 'REFUSED');
  assert.equal(decode(answerQuery(q('notexample.org', 'A'), view, 'udp', now)!).rcode, 'REFUSED');
  assert.equal(decode(answerQuery(q('big.example.org', 'A', undefined, 'CH'), view, 'udp', now)!).rcode, 'REFUSED');
  const nodata = decode(answerQuery(q('big.example.org', 'A'), view, 'udp', now)!);
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authorities[0]!.type, 'SOA');
});

test('garbage gets a bare FORMERR header or nothing; other opcodes NOTIMP; responses are never answered', () => {
  const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
  const f = answerQuery(loop, view, 'udp', now)!;
  assert.equal(f.length, 12);
  assert.equal(f.readUInt16BE(2) & 0x800f, 0x8001);
  assert.equal(answerQuery(Buffer.alloc(11), view, 'udp', now), undefined);
  assert.equal(answerQuery(Buffer.alloc(513), view, 'udp', now), undefined);
  const resp = q('big.example.org', 'A');
  resp[2]! |= 0x80;
  assert.equal(answerQuery(resp, view, 'udp', now), undefined);
  const notify = q('big.example.org', 'A');
  notify[2]! |= 4 << 3; // opcode NOTIFY
  assert.equal(answerQuery(notify, view, 'udp', now)!.readUInt16BE(2) & 0xf, 4);
});

/** A query whose question name is the given raw labels (bytes as sent). */
const rawQ = (labels: Buffer[]): Buffer => {
  const name = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
  const header = Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]); // A, IN
};

test('a question name whose labels hold a dot, a NUL or bytes beyond ASCII is FORMERR, never answered for another name', () => {
  const v: ZoneView = { zone: 'example.org', maxTtl: 30, lookup: (n) => (n === 'service-b.example.org' ? [{ ...rec('127.0.0.3'), name: n }] : []) };
  const attacks = [
    [Buffer.from('service-b'), Buffer.from('example.org')],
    [Buffer.from('service-b.example'), Buffer.from('org')],
    [Buffer.alloc(63, 0xff), Buffer.from('example'), Buffer.from('org')],
    [Buffer.from('a\0b'), Buffer.from('example'), Buffer.from('org')],
    [Buffer.from('a b'), Buffer.from('example'), Buffer.from('org')],
  ];
  for (const labels of attacks) {
    const out = answerQuery(rawQ(labels), v, 'udp', now)!;
    assert.equal(out.length, 12, `bare header for ${labels.map((l) => l.toString('latin1')).join('|')}`);
    assert.equal(out.readUInt16BE(2) & 0xf, 1, 'FORMERR');
  }
  const ok = decode(answerQuery(rawQ([Buffer.from('service-b'), Buffer.from('example'), Buffer.from('org')]), v, 'udp', now)!);
  assert.equal(ok.rcode, 'NOERROR', 'control: the same name in plain labels is answered');
  assert.deepEqual(ok.answers.map((a) => a.data), ['127.0.0.3']);
  const under = decode(answerQuery(rawQ([Buffer.from('_svc'), Buffer.from('example'), Buffer.from('org')]), v, 'udp', now)!);
  assert.equal(under.rcode, 'NXDOMAIN', 'control: an underscore label is an ordinary name');
});

test('EDNS versions other than 0 get BADVERS (extended RCODE 1 in an OPT of version 0); version 0 is answered', () => {
  const withVersion = (version: number) => dns.encode({
    type: 'query', id: 9, flags: dns.RECURSION_DESIRED, questions: [{ type: 'AAAA', name: 'big.example.org', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: version } as unknown as dns.Answer],
  });
  const bad = dns.decode(answerQuery(withVersion(9), view, 'udp', now)!) as unknown as { rcode: string; answers: unknown[]; additionals: Array<{ type: string; extendedRcode: number; ednsVersion: number }> };
  assert.equal(bad.answers.length, 0);
  const opt = bad.additionals.find((a) => a.type === 'OPT')!;
  assert.equal(opt.extendedRcode, 1, 'BADVERS = 16 = extended 1 << 4 | header 0');
  assert.equal(opt.ednsVersion, 0);
  assert.equal(bad.rcode, 'NOERROR', 'the header part of BADVERS is 0');
  assert.equal(decode(answerQuery(withVersion(0), view, 'udp', now)!).answers.length, 16, 'control: EDNS 0');
});
