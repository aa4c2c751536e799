// flymed's metric wiring (daemon/metrics/registry.ts) on a real RpcServer: calls counted once by method and
// outcome when they settle, denials and token refusals from the event stream, refused TLS connections by
// reason, bounded labels (an unknown method name never becomes a label).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { flymeError } from '../../../src/errors.js';
import { DaemonMetrics } from '../../../src/daemon/metrics/registry.js';
import { AlertCenter } from '../../../src/daemon/alerts.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { createRootCA, issueSvidWithKey, authorizeMemberOf } from '../../../src/identity/index.js';
import { dialTls, TlsServerUpgrader } from '../../../src/identity/tls/index.js';
import { parseExposition, type Exposition } from '../../helpers/prometheus.js';
import { rejectsWith, sleep, tempSocket } from '../rpc/helpers.js';

const scrape = async (m: DaemonMetrics): Promise<Exposition> => parseExposition(await m.text());

/** Polls until `name{labels}` reaches `want` (counts land when a call settles, after its answer was written). */
async function until(m: DaemonMetrics, name: string, labels: Record<string, string>, want: number): Promise<Exposition> {
  let x = await scrape(m);
  for (let i = 0; i < 300 && x.value(name, labels) < want; i++) {
    await sleep(10);
    x = await scrape(m);
  }
  assert.equal(x.value(name, labels), want, `${name}${JSON.stringify(labels)}`);
  return x;
}

/** How many `hangs` handlers have ended (their late result reached the dispatcher). */
let hangsEnded = 0;
async function handlersEnded(n: number): Promise<void> {
  for (let i = 0; i < 300 && hangsEnded < n; i++) await sleep(10);
  assert.equal(hangsEnded, n);
  await sleep(0);
}

function daemonLike(metrics: DaemonMetrics, events: SecurityEvent[], requestTimeoutMs = 30_000): RpcServer {
  const sink = metrics.countEvents({ emit: (e) => events.push(e), flush: () => {} });
  const server = new RpcServer({
    events: sink,
    observer: metrics.observer,
    limits: { requestTimeoutMs },
    authorize: (_p, permission) => (permission === 'secret' ? flymeError('FLYME_PERMISSION_DENIED', 'no secret', { permission }) : undefined),
  });
  server.method({ name: 'ping', permission: 'ping', params: Type.Object({ n: Type.Optional(Type.Integer()) }, { additionalProperties: false }), handler: () => ({ pong: true }) });
  server.method({ name: 'secret', permission: 'secret', params: Type.Object({}), handler: () => ({}) });
  server.method({ name: 'fails', permission: 'ping', params: Type.Object({}), handler: async () => { throw flymeError('FLYME_NOT_FOUND', 'nothing'); } });
  server.method({ name: 'hangs', permission: 'ping', params: Type.Object({}), handler: () => new Promise((r) => setTimeout(() => { hangsEnded++; r({ late: true }); }, 400)) });
  server.method({
    name: 'token', permission: 'ping', params: Type.Object({}), handler: () => {
      sink.emit({ kind: 'token_refused', severity: 'warning', source: 'test', message: 'expired', reason: 'FLYME_TOKEN_EXPIRED' });
      throw flymeError('FLYME_TOKEN_EXPIRED', 'expired');
    },
  });
  return server;
}

test('each call is counted once by method and outcome; denials and token refusals by code; unknown names are "unknown"', async () => {
  const sock = tempSocket();
  const metrics = new DaemonMetrics({ processMetrics: false });
  const events: SecurityEvent[] = [];
  const server = daemonLike(metrics, events);
  await server.listen(sock.url);
  const alerts = new AlertCenter();
  metrics.attach({ server, alerts, audit: { queued: 0, state: { dropped: 0 } } as never });
  const c = await connect(sock.url);
  try {
    await c.call('ping');
    await c.call('ping', { n: 1 });
    await until(metrics, 'flyme_calls_total', { method: 'ping', outcome: 'ok' }, 2);
    await rejectsWith(c.call('ping', { bad: 1 }), 'FLYME_INVALID_PARAMS');
    await rejectsWith(c.call('secret'), 'FLYME_PERMISSION_DENIED');
    await rejectsWith(c.call('fails'), 'FLYME_NOT_FOUND');
    await rejectsWith(c.call('token'), 'FLYME_TOKEN_EXPIRED');
    await rejectsWith(c.call('no-such-method-x7'), 'FLYME_METHOD_NOT_FOUND');
    c.notify('ping', {});
    const x = await until(metrics, 'flyme_calls_total', { method: 'ping', outcome: 'ok' }, 3);
    assert.equal(x.value('flyme_calls_total', { method: 'ping', outcome: 'FLYME_INVALID_PARAMS' }), 1);
    assert.equal(x.value('flyme_calls_total', { method: 'secret', outcome: 'FLYME_PERMISSION_DENIED' }), 1);
    assert.equal(x.value('flyme_calls_total', { method: 'fails', outcome: 'FLYME_NOT_FOUND' }), 1);
    assert.equal(x.value('flyme_calls_total', { method: 'unknown', outcome: 'FLYME_METHOD_NOT_FOUND' }), 1);
    assert.equal(x.value('flyme_denials_total', { reason: 'FLYME_PERMISSION_DENIED' }), 1);
    assert.equal(x.value('flyme_token_refusals_total', { code: 'FLYME_TOKEN_EXPIRED' }), 1);
    assert.equal(x.value('flyme_connections_accepted_total', { scheme: 'unix' }), 1);
    assert.equal(x.value('flyme_connections_open', { scheme: 'unix' }), 1);
    assert.equal(x.types.get('flyme_calls_total'), 'counter');
    assert.equal(x.types.get('flyme_connections_open'), 'gauge');
    // The event still reaches the sink behind the counter.
    assert.deepEqual(events.map((e) => e.kind), ['denied', 'token_refused']);
    // A peer-chosen string never becomes a label value.
    assert.doesNotMatch(await metrics.text(), /no-such-method-x7/);
    const total = x.samples.filter((s) => s.name === 'flyme_calls_total').reduce((n, s) => n + s.value, 0);
    assert.equal(total, 8, 'eight calls, each counted once');
  } finally {
    await c.close();
    await server.close(100);
    await metrics.close();
    sock.cleanup();
  }
});

test('a call past its deadline counts once as FLYME_TIMEOUT (not again when its handler ends); a call whose connection closes under it as FLYME_CONNECTION_CLOSED', async () => {
  const sock = tempSocket();
  const metrics = new DaemonMetrics({ processMetrics: false });
  const server = daemonLike(metrics, [], 100);
  await server.listen(sock.url);
  try {
    const c = await connect(sock.url);
    const ended = hangsEnded;
    await rejectsWith(c.call('hangs'), 'FLYME_TIMEOUT');
    await handlersEnded(ended + 1); // its late result must not be counted as well
    let x = await scrape(metrics);
    assert.equal(x.value('flyme_calls_total', { method: 'hangs', outcome: 'FLYME_TIMEOUT' }), 1);
    assert.equal(x.value('flyme_calls_total', { method: 'hangs', outcome: 'ok' }), 0);
    await c.close();
    const server2 = daemonLike(metrics, [], 30_000);
    const sock2 = tempSocket();
    await server2.listen(sock2.url);
    const c2 = await connect(sock2.url);
    const pending = c2.call('hangs').catch(() => undefined);
    for (let i = 0; i < 300 && ![...server2.liveConnections].some((sc) => sc.pending > 0); i++) await sleep(10); // it is being handled
    // The connection goes away under the call (the server shuts down). A client's half-close alone would not
    // do: a peer that ends its side still gets the answers of the calls it sent (as with HTTP/1.1).
    await server2.close(100);
    await pending;
    x = await until(metrics, 'flyme_calls_total', { method: 'hangs', outcome: 'FLYME_CONNECTION_CLOSED' }, 1);
    await handlersEnded(ended + 2);
    assert.equal((await scrape(metrics)).value('flyme_calls_total', { method: 'hangs', outcome: 'ok' }), 0);
    await c2.close();
    sock2.cleanup();
  } finally {
    await server.close(100);
    await metrics.close();
    sock.cleanup();
  }
});

test('alerts are counted by kind and severity; audit queue and drops are read at scrape time', async () => {
  const metrics = new DaemonMetrics({ processMetrics: false });
  const alerts = new AlertCenter();
  const audit = { queued: 7, state: { dropped: 2 } };
  metrics.attach({ server: new RpcServer(), alerts, audit: audit as never });
  alerts.emit({ kind: 'denied', severity: 'warning', source: 'test', message: 'x' });
  alerts.emit({ kind: 'denied', severity: 'warning', source: 'test', message: 'y' });
  alerts.emit({ kind: 'kill', severity: 'critical', source: 'test', message: 'z' });
  alerts.emit({ kind: 'privileged_call', severity: 'info', source: 'test', message: 'not an alert' });
  let x = await scrape(metrics);
  assert.equal(x.value('flyme_alerts_total', { kind: 'denied', severity: 'warning' }), 2);
  assert.equal(x.value('flyme_alerts_total', { kind: 'kill', severity: 'critical' }), 1);
  assert.equal(x.value('flyme_alerts_total', { kind: 'privileged_call' }), 0);
  assert.equal(x.value('flyme_audit_queue_records'), 7);
  assert.equal(x.value('flyme_audit_records_dropped_total'), 2);
  audit.state.dropped = 5;
  x = await scrape(metrics);
  assert.equal(x.value('flyme_audit_records_dropped_total'), 5);
  assert.equal(x.samples.some((s) => s.name === 'flyme_tls_certificate_expiry_seconds'), false, 'no certificate, no expiry gauge');
  await metrics.close();
});

test('refused TLS connections are counted by reason; a valid client is accepted on unix+tls and is no TLS refusal', async () => {
  const sock = tempSocket();
  const dir = sock.path.slice(0, -'/s.sock'.length);
  const url = `unix+tls://${sock.path}`;
  const td = 'metrics.test';
  const root = await createRootCA({ trustDomain: td });
  const rootPath = join(dir, 'root-ca.pem');
  writeFileSync(rootPath, root.certPem);
  const write = async (id: string, name: string) => {
    const s = await issueSvidWithKey(root, { spiffeId: id });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
    return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`) };
  };
  const serverFiles = await write(`spiffe://${td}/flymed`, 'server');
  const clientFiles = await write(`spiffe://${td}/client`, 'client');
  const upgrader = await TlsServerUpgrader.load({ ...serverFiles, caPaths: [rootPath], authorizer: authorizeMemberOf(td), handshakeTimeoutMs: 2000 });
  const metrics = new DaemonMetrics({ processMetrics: false });
  const server = daemonLike(metrics, []);
  await server.listen(url, { secure: upgrader });
  metrics.attach({ server, alerts: new AlertCenter(), audit: { queued: 0, state: { dropped: 0 } } as never, certificateNotAfter: () => upgrader.notAfter });
  try {
    // Attack: no client certificate.
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ path: sock.path, ca: root.certPem, checkServerIdentity: () => undefined });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('secureConnect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}\n'));
    });
    let x = await until(metrics, 'flyme_tls_refusals_total', { reason: 'no-certificate' }, 1);
    assert.equal(x.value('flyme_connections_refused_total', { scheme: 'unix+tls' }), 1);
    assert.equal(x.value('flyme_connections_accepted_total', { scheme: 'unix+tls' }), 0);
    // Control: a client of the trust domain.
    const c = await connect(url, { socket: await dialTls(url, { ...clientFiles, caPaths: [rootPath], serverAuthorizer: authorizeMemberOf(td), timeoutMs: 3000 }) });
    assert.deepEqual(await c.call('ping'), { pong: true });
    x = await until(metrics, 'flyme_calls_total', { method: 'ping', outcome: 'ok' }, 1);
    assert.equal(x.value('flyme_connections_accepted_total', { scheme: 'unix+tls' }), 1);
    assert.equal(x.value('flyme_connections_open', { scheme: 'unix+tls' }), 1);
    assert.equal(x.samples.filter((s) => s.name === 'flyme_tls_refusals_total').reduce((n, s) => n + s.value, 0), 1);
    const left = x.value('flyme_tls_certificate_expiry_seconds');
    const expected = (upgrader.notAfter.getTime() - Date.now()) / 1000;
    assert.ok(left > 0 && Math.abs(left - expected) < 120, `expiry ${left} s, expected about ${expected} s`);
    await c.close();
  } finally {
    await server.close(100);
    upgrader.close();
    await metrics.close();
    sock.cleanup();
  }
});

test('requests and notifications over the in-flight limit are counted as FLYME_TOO_MANY_REQUESTS; a throwing observer never fails a call', async () => {
  const sock = tempSocket();
  const metrics = new DaemonMetrics({ processMetrics: false });
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const server = new RpcServer({ observer: metrics.observer, limits: { maxInFlight: 1 }, authorize: () => undefined });
  server.method({ name: 'wait', permission: 'wait', params: Type.Object({}), handler: async () => { await gate; return {}; } });
  await server.listen(sock.url);
  const throwing = new RpcServer({
    authorize: () => undefined,
    observer: { call: () => { throw new Error('boom'); }, accepted: () => { throw new Error('boom'); }, refused: () => { throw new Error('boom'); } },
  });
  throwing.method({ name: 'ping', permission: 'ping', params: Type.Object({}), handler: () => ({ pong: true }) });
  const sock2 = tempSocket();
  await throwing.listen(sock2.url);
  try {
    const c = await connect(sock.url);
    const first = c.call('wait');
    await rejectsWith(c.call('wait'), 'FLYME_TOO_MANY_REQUESTS');
    c.notify('wait', {});
    await rejectsWith(c.call('nope'), 'FLYME_TOO_MANY_REQUESTS');
    release();
    await first;
    const x = await until(metrics, 'flyme_calls_total', { method: 'wait', outcome: 'ok' }, 1);
    assert.equal(x.value('flyme_calls_total', { method: 'wait', outcome: 'FLYME_TOO_MANY_REQUESTS' }), 2);
    assert.equal(x.value('flyme_calls_total', { method: 'unknown', outcome: 'FLYME_TOO_MANY_REQUESTS' }), 1);
    await c.close();
    const t = await connect(sock2.url);
    assert.deepEqual(await t.call('ping'), { pong: true });
    await rejectsWith(t.call('nope'), 'FLYME_METHOD_NOT_FOUND');
    await t.close();
  } finally {
    await server.close(100);
    await throwing.close(100);
    await metrics.close();
    sock.cleanup();
    sock2.cleanup();
  }
});
