// The registry's DNS server answers registered names over UDP and TCP (A, AAAA, SRV, TXT with the owner's
// SPIFFE ID), NXDOMAIN with the zone's SOA for unknown names inside the zone, REFUSED outside it; `dig`
// (bind9-dnsutils) gets the same answers. Control and attack alike: names only a registration created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as dns from 'dns-packet';
import { tempDir } from '../helpers/daemon.js';
import { decode, meshCerts, query, registryClient, startRegistry, tcpQuery, udpQuery } from '../helpers/mesh.js';

const B = 'spiffe://example.org/svc/service-b';

test('registry DNS: A/AAAA/SRV/TXT over UDP and TCP, NXDOMAIN inside the zone, REFUSED outside', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-dns-');
  const certs = await meshCerts(dir, { b: B });
  const reg = await startRegistry(dir);
  const b = await registryClient(certs, 'b', reg.target);
  const port = reg.dns!.port;
  try {
    // before registration: NXDOMAIN with the SOA
    const before = decode((await udpQuery(port, query('service-b.example.org')))!);
    assert.equal(before.rcode, 'NXDOMAIN');
    assert.equal(before.authorities?.[0]?.type, 'SOA');

    await b.call('Register', { name: 'service-b.example.org', address: '127.0.0.3', port: 9005 });
    await b.call('Register', { name: 'service-b.example.org', address: '::1', port: 9006 });
    for (const transport of ['udp', 'tcp'] as const) {
      const ask = async (name: string, type: dns.RecordType) => {
        const raw = transport === 'udp' ? await udpQuery(port, query(name, type)) : await tcpQuery(port, query(name, type));
        assert.ok(raw, `${transport} ${type} ${name}: no answer`);
        return decode(raw);
      };
      const a = await ask('service-b.example.org', 'A');
      assert.equal(a.rcode, 'NOERROR');
      assert.equal(a.flag_aa, true);
      assert.equal(a.id, 4242);
      assert.deepEqual(a.answers?.map((x) => x.data), ['127.0.0.3'], transport);
      assert.deepEqual((await ask('SERVICE-B.example.org', 'AAAA')).answers?.map((x) => x.data), ['::1']);
      const srv = (await ask('service-b.example.org', 'SRV')).answers?.map((x) => x.data as dns.SrvData).map((d) => d.port).sort();
      assert.deepEqual(srv, [9005, 9006]);
      const txt = (await ask('service-b.example.org', 'TXT')).answers?.map((x) => (x.data as Buffer[]).map(String).join(''));
      assert.deepEqual(txt, [`spiffe-id=${B}`, 'sni=service-b.example.org']);
      const nx = await ask('nobody.example.org', 'A');
      assert.equal(nx.rcode, 'NXDOMAIN');
      assert.equal(nx.answers?.length, 0);
      assert.equal(nx.authorities?.[0]?.type, 'SOA');
      const refused = await ask('service-b.example.com', 'A');
      assert.equal(refused.rcode, 'REFUSED');
      assert.equal(refused.answers?.length, 0);
      assert.equal((await ask('example.org', 'SOA')).answers?.[0]?.type, 'SOA');
    }

    // the real resolver tool, over UDP and TCP (the issue's `dig @127.0.0.1 -p 10053 service-b.example.org`)
    assert.ok(existsSync('/usr/bin/dig'), 'dig is missing: apt-get install bind9-dnsutils (scripts/test.mjs installs it)');
    {
      const dig = (...args: string[]) => execFileSync('/usr/bin/dig', ['@127.0.0.1', '-p', String(port), '+short', '+tries=1', '+time=3', ...args], { encoding: 'utf8' }).trim();
      assert.equal(dig('service-b.example.org'), '127.0.0.3');
      assert.equal(dig('+tcp', 'service-b.example.org'), '127.0.0.3');
      assert.equal(dig('service-b.example.org', 'AAAA'), '::1');
      const status = execFileSync('/usr/bin/dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', 'other.example.net'], { encoding: 'utf8' });
      assert.match(status, /status: REFUSED/);
    }
  } finally {
    b.close();
    await reg.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
