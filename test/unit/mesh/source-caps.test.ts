// The DNS server's TCP side and the SNI router: one source address (all of loopback counting as one) cannot
// hold every connection slot, and a DNS query trickled a byte at a time is cut at the idle timeout although
// each byte restarts the idle timer. Controls: another query or ClientHello is still served meanwhile, and a
// client sending whole queries stays connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import * as dns from 'dns-packet';
import { startDnsServer } from '../../../src/mesh/dns-server.js';
import { RouteTable, startRouter } from '../../../src/mesh/router.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const view = { zone: 'example.org', lookup: () => [], maxTtl: 30 };
const query = (id: number): Buffer => {
  const q = dns.encode({ type: 'query', id, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name: 'svc.example.org' }] });
  const framed = Buffer.alloc(2 + q.length);
  framed.writeUInt16BE(q.length, 0);
  q.copy(framed, 2);
  return framed;
};

/** Opens a TCP connection from `localAddress`; `closed()` tells whether the server has closed it. */
async function open(port: number, localAddress: string): Promise<{ s: Socket; closed(): boolean; data(): Buffer }> {
  let closed = false;
  let data = Buffer.alloc(0);
  const s = connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => undefined);
  s.on('close', () => { closed = true; });
  s.on('data', (d: Buffer) => { data = Buffer.concat([data, d]); });
  await new Promise((r) => s.once('connect', r));
  return { s, closed: () => closed, data: () => data };
}

test('DNS over TCP: at most maxTcpConnectionsPerSource from loopback (any 127/8 address), a trickled query cut, whole ones served', { timeout: 20_000 }, async () => {
  const srv = await startDnsServer({ address: '127.0.0.1:0', view, maxTcpConnectionsPerSource: 3, tcpIdleMs: 500 });
  const held: Array<Awaited<ReturnType<typeof open>>> = [];
  try {
    for (let i = 2; i <= 6; i++) held.push(await open(srv.port, `127.0.0.${i}`));
    await sleep(200);
    assert.equal(held.filter((h) => !h.closed()).length, 3, 'five addresses of one source: three slots');
    for (const h of held) h.s.destroy();
    await sleep(100);

    const trickle = await open(srv.port, '127.0.0.7');
    const whole = await open(srv.port, '127.0.0.8');
    const q = query(7);
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 2000 && !trickle.closed(); i++) {
      if (i < q.length - 1) trickle.s.write(q.subarray(i, i + 1));
      whole.s.write(query(100 + i));
      await sleep(100);
    }
    assert.ok(trickle.closed(), 'a query trickled over 2 s is cut (the idle timer alone restarted with each byte)');
    assert.ok(Date.now() - t0 < 1500, `cut after ${Date.now() - t0} ms`);
    await sleep(300);
    assert.equal(whole.closed(), false, 'control: a client sending whole queries stays connected');
    assert.ok(whole.data().length > 0, 'and is answered');
    trickle.s.destroy();
    whole.s.destroy();
  } finally {
    for (const h of held) h.s.destroy();
    await srv.close();
  }
});

test('SNI router: at most maxConnectionsPerSource connections from loopback without a ClientHello; the others are closed at once', { timeout: 20_000 }, async () => {
  const router = await startRouter({ listen: '127.0.0.1:0', routes: new RouteTable(), maxConnectionsPerSource: 3, helloTimeoutMs: 5000 });
  const held: Array<Awaited<ReturnType<typeof open>>> = [];
  try {
    for (let i = 2; i <= 6; i++) held.push(await open(router.port, `127.0.0.${i}`));
    await sleep(200);
    assert.equal(held.filter((h) => !h.closed()).length, 3, 'five addresses of one source, sending nothing: three held');
    held[0]!.s.destroy();
    await sleep(100);
    const again = await open(router.port, '127.0.0.9');
    await sleep(200);
    assert.equal(again.closed(), false, 'control: a freed slot is usable again');
    again.s.destroy();
  } finally {
    for (const h of held) h.s.destroy();
    await router.close();
  }
});
