// The --metrics endpoint (daemon/metrics/http.ts): which addresses it takes, and what it answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { parseMetricsAddress, serveMetrics } from '../../../src/daemon/metrics/http.js';
import { FlyMeError } from '../../../src/errors.js';

function refused(url: string, allowRemote = false): FlyMeError {
  try {
    parseMetricsAddress(url, allowRemote);
  } catch (e) {
    assert.ok(e instanceof FlyMeError);
    return e;
  }
  assert.fail(`${url} should be refused`);
}

test('--metrics takes tcp:// on loopback; another host only with allowRemote; no other scheme', () => {
  assert.deepEqual(parseMetricsAddress('tcp://127.0.0.1:9464'), { host: '127.0.0.1', port: 9464, url: 'tcp://127.0.0.1:9464' });
  assert.equal(parseMetricsAddress('tcp://[::1]:9464').host, '::1');
  assert.equal(parseMetricsAddress('tcp://127.0.0.2:0').port, 0);
  for (const url of ['tcp://0.0.0.0:9464', 'tcp://10.1.2.3:9464', 'tcp://[::]:9464', 'tcp://128.0.0.1:9464']) {
    const e = refused(url);
    assert.equal(e.code, 'FLYME_INVALID_ADDRESS');
    assert.match(e.message, /not a loopback address.*--metrics-allow-remote/);
  }
  // A name could resolve anywhere: loopback means a loopback IP.
  assert.match(refused('tcp://localhost:9464').message, /loopback IP address .* not the name localhost/);
  assert.equal(parseMetricsAddress('tcp://0.0.0.0:9464', true).host, '0.0.0.0');
  assert.equal(parseMetricsAddress('tcp://metrics.example.org:9464', true).host, 'metrics.example.org');
  for (const url of ['tls://127.0.0.1:9464', 'unix:///run/m.sock', 'http://127.0.0.1:9464', '127.0.0.1:9464', 'tcp://127.0.0.1']) {
    assert.equal(refused(url, true).code, 'FLYME_INVALID_ADDRESS', url);
  }
});

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function send(port: number, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('GET /metrics answers the exposition; other paths 404, other methods 405, a body 413', async () => {
  let served = 0;
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0, url: 'tcp://127.0.0.1:0' }, {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    text: async () => { served++; return 'flyme_x_total 1\n'; },
  });
  try {
    const port = Number(new URL(ep.url).port);
    assert.ok(port > 0);
    assert.match(ep.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await send(port, 'GET', '/metrics');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(ok.body, 'flyme_x_total 1\n');
    assert.equal((await send(port, 'GET', '/metrics?x=1')).status, 200);
    assert.equal((await send(port, 'GET', '/')).status, 404);
    assert.equal((await send(port, 'GET', '/metrics/x')).status, 404);
    const post = await send(port, 'POST', '/metrics');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    assert.equal((await send(port, 'GET', '/metrics', 'a body')).status, 413);
    assert.equal(served, 2, 'only the two good requests produced the exposition');
  } finally {
    await ep.close();
  }
});

test('a failing exposition is a 500 with no detail; the error goes to onError', async () => {
  const errors: unknown[] = [];
  const ep = await serveMetrics({ host: '127.0.0.1', port: 0, url: 'tcp://127.0.0.1:0' }, {
    contentType: 'text/plain', text: async () => { throw new Error('secret detail'); }, onError: (e) => errors.push(e),
  });
  try {
    const r = await send(Number(new URL(ep.url).port), 'GET', '/metrics');
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.body, /secret detail/);
    assert.equal(errors.length, 1);
  } finally {
    await ep.close();
  }
});
