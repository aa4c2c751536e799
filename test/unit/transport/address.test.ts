import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress, unixSocketPath, formatAddress } from '../../../src/transport/address.js';
import { FlyMeError } from '../../../src/errors.js';

function rejects(url: string): void {
  assert.throws(
    () => parseAddress(url),
    (e: unknown) => {
      assert.ok(e instanceof FlyMeError, `expected FlyMeError for ${url}`);
      assert.equal(e.code, 'FLYME_INVALID_ADDRESS');
      assert.equal(e.data.address, url);
      return true;
    },
    url,
  );
}

test('unix:///abs/path', () => {
  const a = parseAddress('unix:///run/flyme/flyme.sock');
  assert.deepEqual(a, { kind: 'unix', path: '/run/flyme/flyme.sock', tls: false, url: 'unix:///run/flyme/flyme.sock' });
  assert.equal(formatAddress(a), 'unix:///run/flyme/flyme.sock');
  if (a.kind === 'unix') assert.equal(unixSocketPath(a), '/run/flyme/flyme.sock');
});

test('unix path is normalized', () => {
  const a = parseAddress('unix:///run//flyme/../flyme/./x.sock');
  assert.equal(a.kind, 'unix');
  if (a.kind === 'unix') assert.equal(a.path, '/run/flyme/x.sock');
});

test('unix://@name (abstract, Linux only)', { skip: process.platform !== 'linux' }, () => {
  const a = parseAddress('unix://@flyme-test');
  assert.deepEqual(a, { kind: 'abstract', name: 'flyme-test', tls: false, url: 'unix://@flyme-test' });
  if (a.kind === 'abstract') assert.equal(unixSocketPath(a), '\0flyme-test');
});

test('unix+tls://@name (abstract, Linux only)', { skip: process.platform !== 'linux' }, () => {
  const a = parseAddress('unix+tls://@n');
  assert.equal(a.kind, 'abstract');
  assert.equal(a.tls, true);
});

test('abstract name length bounds', { skip: process.platform !== 'linux' }, () => {
  rejects('unix://@');
  assert.equal(parseAddress('unix://@' + 'n'.repeat(106)).kind, 'abstract');
  rejects('unix://@' + 'n'.repeat(107));
});

test('tcp://127.0.0.1:7000', () => {
  assert.deepEqual(parseAddress('tcp://127.0.0.1:7000'), {
    kind: 'tcp', host: '127.0.0.1', port: 7000, tls: false, url: 'tcp://127.0.0.1:7000',
  });
});

test('tcp://[::1]:7 strips brackets', () => {
  assert.deepEqual(parseAddress('tcp://[::1]:7'), { kind: 'tcp', host: '::1', port: 7, tls: false, url: 'tcp://[::1]:7' });
});

test('tcp with hostname and trailing slash', () => {
  const a = parseAddress('tcp://localhost:65535/');
  assert.equal(a.kind, 'tcp');
  if (a.kind === 'tcp') {
    assert.equal(a.host, 'localhost');
    assert.equal(a.port, 65535);
  }
});

test('unix+tls:///p', () => {
  assert.deepEqual(parseAddress('unix+tls:///p'), { kind: 'unix', path: '/p', tls: true, url: 'unix+tls:///p' });
});

test('tls://h:1', () => {
  assert.deepEqual(parseAddress('tls://h:1'), { kind: 'tcp', host: 'h', port: 1, tls: true, url: 'tls://h:1' });
});

test('relative unix path is rejected', () => {
  rejects('unix://relative/path.sock');
  rejects('unix://./x.sock');
  rejects('unix://');
  rejects('unix+tls://rel');
});

test('unknown scheme is rejected', () => {
  rejects('http://127.0.0.1:80');
  rejects('udp://h:1');
  rejects('UNIX:///x');
  rejects('/run/flyme.sock');
  rejects('');
  rejects('tcp:127.0.0.1:7000');
});

test('port out of range or malformed is rejected', () => {
  rejects('tcp://127.0.0.1:70000');
  rejects('tcp://127.0.0.1:65536');
  rejects('tls://h:123456');
  rejects('tcp://127.0.0.1');
  rejects('tcp://127.0.0.1:');
  rejects('tcp://127.0.0.1:x');
  rejects('tcp://::1:7');
  rejects('tcp://h:1/path');
});

test('unix path over 107 bytes is rejected; exactly 107 passes', () => {
  const ok = '/' + 'a'.repeat(106);
  assert.equal(Buffer.byteLength(ok), 107);
  assert.equal(parseAddress('unix://' + ok).kind, 'unix');
  rejects('unix:///' + 'a'.repeat(107));
  rejects('unix+tls:///' + 'a'.repeat(200));
});

test('unix path length counts bytes, not characters', () => {
  // 54 two-byte characters + '/' = 109 bytes but only 55 characters
  rejects('unix:///' + 'é'.repeat(54));
});

test('unix path with NUL is rejected', () => {
  rejects('unix:///tmp/a\0b');
});
