import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Type } from '@sinclair/typebox';
import { FlyMeError } from '../../../src/errors.js';
import { authorizeId, authorizeMemberOf, createRootCA, exportPrivateKeyPem, issueSvidWithKey, SpiffeId, type Authorizer, type CertificateAuthority } from '../../../src/identity/index.js';
import { dialTls, TlsServerUpgrader, type TlsReloadEvent } from '../../../src/identity/tls/index.js';
import type { AcceptedConnection } from '../../../src/transport/listener.js';
import { RpcServer } from '../../../src/rpc/server.js';
import { connect } from '../../../src/rpc/client.js';
import { badCert, pingServer, tempDir, type BadCertKind } from './fixtures.js';

const TD = 'flyme.local';
const SERVER_ID = `spiffe://${TD}/flymed`;
const CLIENT_ID = `spiffe://${TD}/client`;

interface Creds { cert: string; key: string }

/** Issues an SVID from `ca` and writes its chain and key (0600) into `dir` as NAME.pem / NAME.key.pem. */
async function issueFiles(ca: CertificateAuthority, dir: string, id: string, name: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<Creds> {
  const svid = await issueSvidWithKey(ca, { spiffeId: id, ...validity });
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key.pem`) };
  writeFileSync(files.cert, svid.chainPem);
  writeFileSync(files.key, svid.keyPem, { mode: 0o600 });
  return files;
}

/** Waits until the server has reported more than `count` refusals, and returns refusal number `count`. */
async function waitRefusal(refused: FlyMeError[], count: number): Promise<FlyMeError> {
  for (let i = 0; i < 500 && refused.length <= count; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(refused.length > count, 'the server should have refused the connection');
  return refused[count]!;
}

/** Dials with FlyMe's client, calls ping; returns the error the client sees (undefined when it worked). */
async function pingOver(url: string, dial: Parameters<typeof dialTls>[1]): Promise<unknown> {
  try {
    const cl = await connect(url, { socket: await dialTls(url, dial), callTimeoutMs: 3000 });
    try {
      await cl.call('ping', {});
    } finally {
      await cl.close();
    }
    return undefined;
  } catch (err) {
    return err;
  }
}

/** A raw Node TLS client (for certificates FlyMe's own dialer refuses to load): what came back first. */
function rawPing(sock: string, caPem: string, opts: Record<string, unknown>): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ path: sock, ca: caPem, checkServerIdentity: () => undefined, ...opts });
    s.on('error', (e) => resolve(`error: ${e.message}`));
    s.on('secureConnect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}\n'));
    s.on('data', (d: Buffer) => { resolve(`data: ${d.toString()}`); s.destroy(); });
    s.on('close', () => resolve('closed'));
  });
}

describe('mutual TLS 1.3 (unix+tls://)', () => {
  const { dir, cleanup } = tempDir('flyme-tls-');
  const sock = join(dir, 'run', 'flyme-tls.sock');
  const url = `unix+tls://${sock}`;
  const rootPath = join(dir, 'root-ca.pem');
  let root: CertificateAuthority;
  let server: RpcServer;
  let upgrader: TlsServerUpgrader;
  const allowed = new Set<string>([CLIENT_ID]);
  const authorizer: Authorizer = (id) => {
    if (!allowed.has(id.toString())) authorizeId('spiffe://flyme.local/nobody')(id);
  };
  const refused: FlyMeError[] = [];
  const accepted: AcceptedConnection[] = [];
  let client: Creds;
  const serverFiles: Creds = { cert: join(dir, 'server.pem'), key: join(dir, 'server.key.pem') };

  const issue = (ca: CertificateAuthority, id: string, name: string, validity: { notBefore?: Date; notAfter?: Date } = {}) =>
    issueFiles(ca, dir, id, name, validity);

  const dialOpts = (c: Creds, serverAuthorizer: Authorizer = authorizeId(SERVER_ID)) =>
    ({ certPath: c.cert, keyPath: c.key, caPaths: [rootPath], serverAuthorizer, timeoutMs: 3000 });

  const nextRefusal = (count: number) => waitRefusal(refused, count);

  const tryPing = (c: Creds) => pingOver(url, dialOpts(c));

  const rawTry = (opts: Record<string, unknown>) => rawPing(sock, root.certPem, opts);

  before(async () => {
    root = await createRootCA({ trustDomain: TD });
    writeFileSync(rootPath, root.certPem);
    const s = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
    writeFileSync(serverFiles.cert, s.chainPem);
    writeFileSync(serverFiles.key, s.keyPem, { mode: 0o600 });
    client = await issue(root, CLIENT_ID, 'client');
    upgrader = await TlsServerUpgrader.load({ certPath: serverFiles.cert, keyPath: serverFiles.key, caPaths: [rootPath], authorizer, handshakeTimeoutMs: 2000 });
    server = new RpcServer({
      onRefused: (e) => refused.push(e),
      assignRoles: (_p, conn) => { accepted.push(conn); },
    });
    server.method({ name: 'ping', params: Type.Object({}), permission: 'whoami', handler: () => ({ pong: true }) });
    server.method({ name: 'whoami', params: Type.Object({}), permission: 'whoami', handler: (_p, ctx) => ({ cert: ctx.principal.cert ?? null }) });
    await server.listen(url, { secure: upgrader });
  });

  after(async () => {
    upgrader.close();
    await server.close(100);
    cleanup();
  });

  it('accepts a valid client and the server sees its SPIFFE ID', async () => {
    const socket = await dialTls(url, dialOpts(client));
    assert.equal(socket.getProtocol(), 'TLSv1.3');
    const cl = await connect(url, { socket });
    assert.deepEqual(await cl.call('ping', {}), { pong: true });
    const who = (await cl.call('whoami', {})) as { cert: { spiffeId: string; serial: string; thumbprint: string } };
    assert.equal(who.cert.spiffeId, CLIENT_ID);
    assert.match(who.cert.serial, /^[0-9a-f]+$/);
    assert.equal(accepted.at(-1)!.cert!.spiffeId, CLIENT_ID);
    assert.ok(accepted.at(-1)!.cert!.der.length > 100);
    await cl.close();
  });

  it('refuses a client without a certificate', async () => {
    const n = refused.length;
    assert.doesNotMatch(await rawTry({}), /^data: .*"result"/);
    const e = await nextRefusal(n);
    assert.equal(e.data['reason'], 'no-certificate', e.message);
  });

  it('refuses a self-signed client certificate', async () => {
    const n = refused.length;
    const self = await createRootCA({ trustDomain: TD });
    assert.doesNotMatch(await rawTry({ cert: self.certPem, key: self.keyPem }), /^data: .*"result"/);
    const e = await nextRefusal(n);
    assert.ok(['unknown-ca', 'invalid-certificate'].includes(String(e.data['reason'])), `${e.code} ${String(e.data['reason'])}: ${e.message}`);
  });

  it('refuses a client of another CA (same trust domain name)', async () => {
    const n = refused.length;
    const other = await createRootCA({ trustDomain: TD });
    const c = await issue(other, CLIENT_ID, 'other-ca-client');
    assert.ok((await tryPing(c)) !== undefined);
    const e = await nextRefusal(n);
    assert.equal(e.code, 'FLYME_UNTRUSTED_CERTIFICATE', e.message);
    assert.equal(e.data['reason'], 'unknown-ca');
    assert.equal(await tryPing(client), undefined, 'control: the valid client still works');
  });

  it('refuses an expired client certificate', async () => {
    const n = refused.length;
    const c = await issue(root, CLIENT_ID, 'expired-client', { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
    assert.ok((await tryPing(c)) !== undefined);
    const e = await nextRefusal(n);
    assert.equal(e.data['reason'], 'expired', e.message);
  });

  it('refuses a client whose SPIFFE ID the authorizer does not allow', async () => {
    const n = refused.length;
    const c = await issue(root, `spiffe://${TD}/intruder`, 'intruder');
    assert.ok((await tryPing(c)) !== undefined);
    const e = await nextRefusal(n);
    assert.equal(e.code, 'FLYME_ID_NOT_AUTHORIZED', e.message);
    assert.equal(e.data['reason'], 'id-not-authorized');
  });

  it('refuses a client forcing TLS 1.2', async () => {
    const n = refused.length;
    const c = await import('node:fs').then((fs) => ({ cert: fs.readFileSync(client.cert, 'utf8'), key: fs.readFileSync(client.key, 'utf8') }));
    const out = await rawTry({ ...c, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    assert.match(out, /^error: /);
    const e = await nextRefusal(n);
    assert.equal(e.data['reason'], 'tls-version', e.message);
    assert.match(await rawTry({ ...c, maxVersion: 'TLSv1.3' }), /"result"/, 'control: the same client over TLS 1.3 works');
  });

  it('drops a client that never finishes the handshake (FLYME_TIMEOUT)', async () => {
    const n = refused.length;
    const { connect: netConnect } = await import('node:net');
    const raw = netConnect({ path: sock });
    try {
      const e = await nextRefusal(n);
      assert.equal(e.code, 'FLYME_TIMEOUT', e.message);
      assert.equal(e.data['reason'], 'timeout');
    } finally {
      raw.destroy();
    }
  });

  it('the client refuses a server with an unexpected SPIFFE ID', async () => {
    await assert.rejects(dialTls(url, dialOpts(client, authorizeId(`spiffe://${TD}/someone-else`))), (e: FlyMeError) => {
      assert.equal(e.code, 'FLYME_ID_NOT_AUTHORIZED', e.message);
      assert.equal(e.data['reason'], 'id-not-authorized');
      return true;
    });
    (await dialTls(url, dialOpts(client))).destroy();
  });

  it('the client refuses a server that chains to an unknown root', async () => {
    const other = await createRootCA({ trustDomain: TD });
    const otherRoot = join(dir, 'other-root.pem');
    writeFileSync(otherRoot, other.certPem);
    await assert.rejects(dialTls(url, { ...dialOpts(client), caPaths: [otherRoot] }), (e: FlyMeError) => {
      assert.equal(e.code, 'FLYME_UNTRUSTED_CERTIFICATE', e.message);
      return true;
    });
  });

  it('maps a missing socket to FLYME_UNREACHABLE', async () => {
    await assert.rejects(dialTls(`unix+tls://${join(dir, 'nope.sock')}`, dialOpts(client)), (e: FlyMeError) => e.code === 'FLYME_UNREACHABLE');
  });

  it('resumes a TLS 1.3 session and still checks the client identity', async () => {
    const sessions: Buffer[] = [];
    const first = await connect(url, { socket: await dialTls(url, { ...dialOpts(client), onSession: (s) => sessions.push(s) }) });
    await first.call('ping', {});
    for (let i = 0; i < 100 && sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(sessions.length > 0, 'the server sent a session ticket');
    await first.close();

    const socket = await dialTls(url, { ...dialOpts(client), session: sessions.at(-1)! });
    assert.equal(socket.isSessionReused(), true, 'the client resumed');
    const second = await connect(url, { socket });
    const who = (await second.call('whoami', {})) as { cert: { spiffeId: string } };
    assert.equal(who.cert.spiffeId, CLIENT_ID);
    assert.equal(accepted.at(-1)!.resumed, true, 'the server reports resumption');
    assert.equal(accepted.at(-1)!.cert!.spiffeId, CLIENT_ID);
    await second.close();

    // The authorizer runs on resumed sessions too: revoke the client's ID and resume again.
    const n = refused.length;
    allowed.delete(CLIENT_ID);
    try {
      const s3 = await dialTls(url, { ...dialOpts(client), session: sessions.at(-1)! }).catch(() => undefined);
      const resumedAgain = s3?.isSessionReused();
      // Keep the client socket open until the server has judged it (closing first would be a handshake abort).
      const e = await nextRefusal(n);
      s3?.destroy();
      assert.equal(e.data['reason'], 'id-not-authorized', e.message);
      assert.equal(resumedAgain ?? true, true);
    } finally {
      allowed.add(CLIENT_ID);
    }
  });

  it('reloads the server certificate for new connections; old ones keep working', async () => {
    const oldSerial = upgrader.currentSerial;
    const oldClient = await connect(url, { socket: await dialTls(url, dialOpts(client)) });
    const serialOf = (s: TLSSocket) => s.getPeerCertificate().serialNumber.toLowerCase();

    const fresh = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
    writeFileSync(serverFiles.cert, fresh.chainPem);
    writeFileSync(serverFiles.key, fresh.keyPem, { mode: 0o600 });
    await upgrader.reload();
    const newSerial = upgrader.currentSerial;
    assert.notEqual(newSerial, oldSerial);
    assert.equal(newSerial, fresh.cert.serialNumber.toLowerCase());

    const s = await dialTls(url, dialOpts(client));
    assert.equal(serialOf(s), newSerial);
    s.destroy();
    assert.deepEqual(await oldClient.call('ping', {}), { pong: true }, 'the old connection still works');

    writeFileSync(serverFiles.cert, 'garbage\n');
    await assert.rejects(upgrader.reload(), (e: FlyMeError) => e instanceof FlyMeError);
    assert.equal(upgrader.currentSerial, newSerial, 'a broken set keeps the old credentials');
    const s2 = await dialTls(url, dialOpts(client));
    assert.equal(serialOf(s2), newSerial);
    s2.destroy();

    // A certificate of another CA is refused too (it must chain to the bundle).
    const other = await createRootCA({ trustDomain: TD });
    const foreign = await issueSvidWithKey(other, { spiffeId: SERVER_ID });
    writeFileSync(serverFiles.cert, foreign.chainPem);
    writeFileSync(serverFiles.key, foreign.keyPem, { mode: 0o600 });
    await assert.rejects(upgrader.reload(), (e: FlyMeError) => e.code === 'FLYME_INVALID_CONFIG');
    assert.equal(upgrader.currentSerial, newSerial);
    await oldClient.close();
  });

  it('watch() reloads when the files change', async () => {
    const events: TlsReloadEvent[] = [];
    upgrader.watch((e) => events.push(e));
    try {
      const fresh = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
      writeFileSync(serverFiles.key, fresh.keyPem, { mode: 0o600 });
      writeFileSync(serverFiles.cert, fresh.chainPem);
      const want = fresh.cert.serialNumber.toLowerCase();
      for (let i = 0; i < 300 && upgrader.currentSerial !== want; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(upgrader.currentSerial, want);
      assert.ok(events.some((e) => e.type === 'reloaded'));
    } finally {
      upgrader.close();
    }
  });

  it('interoperates with openssl s_client', { skip: spawnSync('openssl', ['version']).status !== 0 ? 'no openssl' : false }, async () => {
    const child = spawn('openssl', ['s_client', '-unix', sock, '-cert', client.cert, '-key', client.key, '-CAfile', rootPath, '-tls1_3', '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no result from openssl; got ${out}`)), 5000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const hit = out.split('\n').find((l) => l.includes('"result"'));
          if (hit) { clearTimeout(timer); resolve(hit); }
        });
        child.on('error', (e) => { clearTimeout(timer); reject(e); });
        child.stdin.write('{"jsonrpc":"2.0","id":7,"method":"whoami","params":{}}\n');
      });
      const msg = JSON.parse(line) as { id: number; result: { cert: { spiffeId: string } } };
      assert.equal(msg.id, 7);
      assert.equal(msg.result.cert.spiffeId, CLIENT_ID);
    } finally {
      child.kill();
    }
  });

  it('load() refuses a key that does not match the certificate', async () => {
    const a = await issue(root, SERVER_ID, 'mismatch-a');
    const b = await issue(root, SERVER_ID, 'mismatch-b');
    await assert.rejects(TlsServerUpgrader.load({ certPath: a.cert, keyPath: b.key, caPaths: [rootPath], authorizer: authorizeId(CLIENT_ID) }), (e: FlyMeError) => e.code === 'FLYME_INVALID_CERTIFICATE');
    assert.ok(SpiffeId.parse(CLIENT_ID));
  });
});

describe('mutual TLS: the server refuses CA-signed client certificates that break SVID or validity rules', () => {
  const { dir, cleanup } = tempDir('flyme-tls-bad-');
  const sock = join(dir, 'run', 'flyme-tls.sock');
  const url = `unix+tls://${sock}`;
  const rootPath = join(dir, 'root-ca.pem');
  let root: CertificateAuthority;
  let server: RpcServer;
  let upgrader: TlsServerUpgrader;
  const refused: FlyMeError[] = [];
  let client: Creds;

  const issue = (id: string, name: string, validity: { notBefore?: Date; notAfter?: Date } = {}) => issueFiles(root, dir, id, name, validity);

  const nextRefusal = (count: number) => waitRefusal(refused, count);

  const tryPing = (c: Creds) =>
    pingOver(url, { certPath: c.cert, keyPath: c.key, caPaths: [rootPath], serverAuthorizer: authorizeId(SERVER_ID), timeoutMs: 3000 });

  /** FlyMe's dialer itself refuses to load a leaf that breaks the SVID rules, so these go raw. */
  const rawTry = (opts: Record<string, unknown>) => rawPing(sock, root.certPem, opts);

  async function badPem(kind: BadCertKind): Promise<{ cert: string; key: string }> {
    const { cert, keys } = await badCert(root, kind);
    return { cert: cert.toString('pem'), key: await exportPrivateKeyPem(keys.privateKey) };
  }

  const goodPem = () => ({ cert: readFileSync(client.cert, 'utf8'), key: readFileSync(client.key, 'utf8') });

  before(async () => {
    root = await createRootCA({ trustDomain: TD });
    writeFileSync(rootPath, root.certPem);
    const s = await issueSvidWithKey(root, { spiffeId: SERVER_ID });
    writeFileSync(join(dir, 'server.pem'), s.chainPem);
    writeFileSync(join(dir, 'server.key.pem'), s.keyPem, { mode: 0o600 });
    client = await issue(CLIENT_ID, 'client');
    upgrader = await TlsServerUpgrader.load({ certPath: join(dir, 'server.pem'), keyPath: join(dir, 'server.key.pem'), caPaths: [rootPath], authorizer: authorizeMemberOf(TD), handshakeTimeoutMs: 2000 });
    server = await pingServer(url, upgrader, { onRefused: (e) => refused.push(e) });
  });

  after(async () => {
    upgrader.close();
    await server.close(100);
    cleanup();
  });

  it('refuses a client certificate that is not yet valid (FLYME_CERT_EXPIRED); a valid one works', async () => {
    const n = refused.length;
    const c = await issue(CLIENT_ID, 'future-client', { notBefore: new Date(Date.now() + 3_600_000), notAfter: new Date(Date.now() + 7_200_000) });
    const err = await tryPing(c);
    assert.ok(err !== undefined, 'the not-yet-valid client gets no ping result');
    const e = await nextRefusal(n);
    assert.equal(e.code, 'FLYME_CERT_EXPIRED', e.message);
    assert.equal(e.data['reason'], 'expired', e.message);
    assert.match(e.message, /not yet valid/i);
    assert.equal(e.data['role'], 'leaf');
    assert.equal(await tryPing(client), undefined, 'control: the valid client still works');
    assert.equal(refused.length, n + 1, 'the control connection was not refused');
  });

  it('refuses a CA-signed client leaf with two URI SANs (FLYME_INVALID_CERTIFICATE); a valid one works', async () => {
    const n = refused.length;
    assert.doesNotMatch(await rawTry(await badPem('wrong-leaf-two-uri-sans')), /^data: .*"result"/);
    const e = await nextRefusal(n);
    assert.equal(e.code, 'FLYME_INVALID_CERTIFICATE', `${e.code} ${String(e.data['reason'])}: ${e.message}`);
    assert.equal(e.data['reason'], 'invalid-certificate', e.message);
    assert.equal(e.data['rule'], 'uri-san-count', e.message);
    assert.match(await rawTry(goodPem()), /"result"/, 'control: the valid client works');
    assert.equal(refused.length, n + 1, 'the control connection was not refused');
  });

  it('refuses a CA-signed client leaf with basicConstraints cA=true; a valid one works', async () => {
    const n = refused.length;
    assert.doesNotMatch(await rawTry(await badPem('wrong-leaf-ca-true')), /^data: .*"result"/);
    const e = await nextRefusal(n);
    assert.equal(e.code, 'FLYME_INVALID_CERTIFICATE', `${e.code} ${String(e.data['reason'])}: ${e.message}`);
    assert.equal(e.data['reason'], 'invalid-certificate', e.message);
    assert.equal(e.data['rule'], 'leaf-is-ca', e.message);
    assert.match(await rawTry(goodPem()), /"result"/, 'control: the valid client works');
    assert.equal(refused.length, n + 1, 'the control connection was not refused');
  });
});
