// Plain tcp:// gives a peer no identity: listeners refuse it beyond loopback (library and daemon alike).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkListenAddress, isLoopbackHost, parseAddress } from '../../../src/transport/address.js';
import { listen } from '../../../src/transport/listener.js';
import { FlyMeError } from '../../../src/errors.js';

test('loopback hosts: 127.0.0.0/8, ::1 in any spelling, ::ffff:127.x, localhost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::0001', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '126.255.255.255', '127.0.0.256', '1::1', '::2', '::ffff:10.0.0.1',
    '::127.0.0.1', 'example.org', 'localhost.evil.example', '127.0.0.1.nip.io', '']) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});

function refused(url: string): void {
  assert.throws(() => checkListenAddress(parseAddress(url)), (e: unknown) => {
    assert.ok(e instanceof FlyMeError);
    assert.equal(e.code, 'FLYME_INVALID_ADDRESS');
    assert.match(e.message, /plain tcp:\/\/ gives peers no identity.*only on loopback.*use tls:\/\//);
    return true;
  }, url);
}

test('checkListenAddress: plain tcp:// beyond loopback is refused; tls://, loopback tcp:// and unix are fine', () => {
  refused('tcp://0.0.0.0:7000');
  refused('tcp://[::]:7000');
  refused('tcp://192.168.1.10:7000');
  refused('tcp://example.org:7000');
  for (const ok of ['tcp://127.0.0.1:7000', 'tcp://[::1]:7000', 'tcp://localhost:7000', 'tls://0.0.0.0:7000', 'tls://[::]:7000', 'unix:///tmp/x.sock']) {
    assert.doesNotThrow(() => checkListenAddress(parseAddress(ok)), ok);
  }
});

test('the library listener refuses tcp://0.0.0.0 before binding, and binds tcp://127.0.0.1', async () => {
  await assert.rejects(listen('tcp://0.0.0.0:0', { onConnection: () => undefined }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_ADDRESS');
  const l = await listen('tcp://127.0.0.1:0', { onConnection: (c) => c.socket.destroy() });
  assert.match(l.address.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  await l.close();
});
