import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { certsCommand } from '../../../src/cli/certs.js';
import { describePeerCertificate, loadTrustBundle, parseCertificates, verifyChain } from '../../../src/identity/index.js';
import { tempDir } from './fixtures.js';

async function runCli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  process.exitCode = 0;
  await certsCommand({ out: (t) => void (out += t), err: (t) => void (err += t) }).parseAsync(args, { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

const FILES = ['root-ca.pem', 'root-ca.key.pem', 'server.pem', 'server.key.pem', 'client.pem', 'client.key.pem'];

test('certs init writes the six files with the right modes and IDs; refuses to overwrite without --force', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const d = join(dir, 'certs');
    const r = await runCli(['init', '--dir', d, '--trust-domain', 'example.org', '--client-id', 'spiffe://example.org/ops/alice']);
    assert.equal(r.code, 0, r.err);
    for (const f of FILES) {
      assert.equal(statSync(join(d, f)).mode & 0o777, f.endsWith('.key.pem') ? 0o600 : 0o644, f);
      assert.match(r.out, new RegExp(f.replace(/\./g, '\\.')));
    }
    assert.equal(statSync(d).mode & 0o777, 0o700);
    const server = describePeerCertificate(new Uint8Array(parseCertificates(readFileSync(join(d, 'server.pem'), 'utf8'))[0]!.rawData));
    assert.equal(server.spiffeId, 'spiffe://example.org/flymed');
    const client = describePeerCertificate(new Uint8Array(parseCertificates(readFileSync(join(d, 'client.pem'), 'utf8'))[0]!.rawData));
    assert.equal(client.spiffeId, 'spiffe://example.org/ops/alice');
    const before = readFileSync(join(d, 'root-ca.key.pem'), 'utf8');
    const again = await runCli(['init', '--dir', d, '--trust-domain', 'example.org']);
    assert.equal(again.code, 1);
    assert.match(again.err, /^flyme: refusing to overwrite .*--force/);
    assert.equal(readFileSync(join(d, 'root-ca.key.pem'), 'utf8'), before);
    const forced = await runCli(['init', '--dir', d, '--trust-domain', 'example.org', '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.notEqual(readFileSync(join(d, 'root-ca.key.pem'), 'utf8'), before);
  } finally {
    cleanup();
  }
});

test('certs issue signs in the CA trust domain only; inspect reports fields and violations', async () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.equal((await runCli(['init', '--dir', dir, '--key-type', 'Ed25519'])).code, 0);
    const ok = await runCli(['issue', '--ca', dir, '--spiffe-id', 'spiffe://flyme.local/worker', '--out', join(dir, 'out', 'worker'), '--dns', 'w1', 'w2.local', '--days', '7']);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(statSync(join(dir, 'out', 'worker.key.pem')).mode & 0o777, 0o600);
    const bundle = await loadTrustBundle(join(dir, 'root-ca.pem'));
    const [leaf] = parseCertificates(readFileSync(join(dir, 'out', 'worker.pem'), 'utf8'));
    assert.equal((await verifyChain(leaf!, [], bundle)).spiffeId.toString(), 'spiffe://flyme.local/worker');
    const foreign = await runCli(['issue', '--ca', dir, '--spiffe-id', 'spiffe://evil.org/x', '--out', join(dir, 'evil')]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.err, /^flyme: cannot issue spiffe:\/\/evil\.org\/x: the CA only issues IDs in trust domain flyme\.local/);
    const dup = await runCli(['issue', '--ca', dir, '--spiffe-id', 'spiffe://flyme.local/worker', '--out', join(dir, 'out', 'worker')]);
    assert.equal(dup.code, 1);

    const text = await runCli(['inspect', join(dir, 'out', 'worker.pem')]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /SPIFFE ID: +spiffe:\/\/flyme\.local\/worker/);
    assert.match(text.out, /DNS names: +w1, w2\.local/);
    assert.match(text.out, /key type: +P-256/); // leaf key defaults to P-256 even under an Ed25519 CA
    assert.match(text.out, /SVID rules: +ok/);
    const json = await runCli(['inspect', join(dir, 'root-ca.pem'), '--json']);
    const [root] = JSON.parse(json.out) as { isCA: boolean; spiffeId: string; violations: unknown[]; expired: boolean }[];
    assert.equal(root!.isCA, true);
    assert.equal(root!.spiffeId, 'spiffe://flyme.local');
    assert.deepEqual(root!.violations, []);
    assert.equal(root!.expired, false);
    const key = await runCli(['inspect', join(dir, 'root-ca.key.pem')]);
    assert.equal(key.code, 1);
    assert.match(key.err, /found a private key/);
  } finally {
    cleanup();
  }
});

test('inspect exits 1 on an SVID rule violation', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { createRootCA } = await import('../../../src/identity/index.js');
    const { badCert } = await import('./fixtures.js');
    const ca = await createRootCA({ trustDomain: 'td' });
    const { cert } = await badCert(ca, 'wrong-leaf-crl-sign');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'bad.pem'), cert.toString('pem'));
    const r = await runCli(['inspect', join(dir, 'bad.pem')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /has-crl-sign/);
  } finally {
    cleanup();
  }
});

test('init-generated certificates complete a mutual TLS 1.3 handshake with node:tls', async () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.equal((await runCli(['init', '--dir', dir])).code, 0);
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    const server = createServer({
      cert: read('server.pem'), key: read('server.key.pem'), ca: read('root-ca.pem'),
      requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
    });
    const seen = new Promise<string>((resolve) => server.on('secureConnection', (s: TLSSocket) => {
      resolve(describePeerCertificate(s.getPeerCertificate(true).raw).spiffeId);
      s.end('hi');
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = connect({ host: '127.0.0.1', port, servername: 'localhost', cert: read('client.pem'), key: read('client.key.pem'), ca: read('root-ca.pem'), minVersion: 'TLSv1.3' });
    await new Promise<void>((resolve, reject) => { client.once('secureConnect', resolve); client.once('error', reject); });
    assert.equal(client.getProtocol(), 'TLSv1.3');
    assert.equal(client.authorized, true);
    assert.equal(describePeerCertificate(client.getPeerCertificate(true).raw).spiffeId, 'spiffe://flyme.local/flymed');
    assert.equal(await seen, 'spiffe://flyme.local/client');
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  } finally {
    cleanup();
  }
});
