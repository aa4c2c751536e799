/** Scenario helpers for `flyme registry serve`: certificates for several workloads, the registry, a gRPC client per identity, DNS over UDP and TCP. */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import * as dns from 'dns-packet';
import { runCli } from './daemon.js';
import { startFlyme, type Proc } from './agent.js';
import { SecureGrpcClientBuilder } from '../../src/grpc/client.js';
import { spiffeIdFromCertificate } from '../../src/identity/validate.js';
import { x509 } from '../../src/identity/x509.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
export const SERVER_ID = 'spiffe://example.org/flymed';
export const POLICY = `registry:
  names:
    db.example.org: [spiffe://example.org/db]
  templates:
    - name: "{name}.example.org"
      owner: "spiffe://example.org/svc/{name}"
`;

/** `flyme certs init` (trust domain example.org) in DIR/certs, plus one SVID per SPIFFE ID: DIR/certs/<name>.pem. */
export async function meshCerts(dir: string, ids: Record<string, string>): Promise<string> {
  const certs = join(dir, 'certs');
  const r = await runCli(['certs', 'init', '--dir', certs, '--trust-domain', 'example.org']);
  assert.equal(r.code, 0, r.stderr);
  for (const [name, id] of Object.entries(ids)) {
    const i = await runCli(['certs', 'issue', '--ca', certs, '--spiffe-id', id, '--out', join(certs, name)]);
    assert.equal(i.code, 0, i.stderr);
  }
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  return certs;
}

export interface RunningRegistry { proc: Proc; target: string; dns?: { host: string; port: number } }

/** Starts the registry on a free port (and DNS on a free port with `dns`), state in DIR/data. */
export async function startRegistry(dir: string, extra: string[] = [], withDns = true): Promise<RunningRegistry> {
  const proc = await startFlyme(['--certs', join(dir, 'certs'), 'registry', 'serve', '--zone', 'example.org', '--policy', join(dir, 'policy.yaml'),
    '--listen', 'tls://127.0.0.1:0', '--data-dir', join(dir, 'data'), ...(withDns ? ['--dns', '127.0.0.1:0'] : []), ...extra], 'flyme registry ready');
  const ready = proc.log().split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; listeners?: string[]; dns?: string }; } catch { return {}; } }).find((l) => l.msg === 'flyme registry ready')!;
  const target = ready.listeners![0]!.replace('tls://', '');
  const d = ready.dns ? /^(.*):(\d+)$/.exec(ready.dns) : null;
  return { proc, target, ...(d ? { dns: { host: d[1]!, port: Number(d[2]) } } : {}) };
}

type Cb<T> = (e: grpc.ServiceError | null, r: T) => void;
export interface RegistryClient {
  call<T = Record<string, unknown>>(method: 'Register' | 'Renew' | 'Deregister' | 'Resolve', req: object): Promise<T>;
  watch(req?: object): grpc.ClientReadableStream<{ kind: string; record?: { name: string; address: string } }>;
  close(): void;
}

/** A Registry client with the SVID DIR/certs/<name>.pem (the standard proto, loaded from proto/). */
export async function registryClient(certs: string, name: string, target: string): Promise<RegistryClient> {
  const def = loadSync(join(root, 'proto/flyme/mesh/registry.proto'), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { flyme: { mesh: { v1: { Registry: grpc.ServiceClientConstructor } } } };
  const c = await new SecureGrpcClientBuilder()
    .withTls({ certPath: join(certs, `${name}.pem`), keyPath: join(certs, `${name}.key.pem`), caPath: join(certs, 'root-ca.pem') }, SERVER_ID)
    .build(target, pkg.flyme.mesh.v1.Registry);
  const raw = c as unknown as Record<string, (req: object, o: grpc.CallOptions, cb: Cb<unknown>) => void> & { Watch(req: object): grpc.ClientReadableStream<never> };
  return {
    call: <T>(method: string, req: object) => new Promise<T>((res, rej) => raw[method]!.call(c, req, { deadline: Date.now() + 10_000 }, (e, r) => (e ? rej(e) : res(r as T)))),
    watch: (req = {}) => raw.Watch.call(c, req),
    close: () => c.close(),
  };
}

/** One UDP query; resolves with the raw answer, or undefined when none came within `waitMs`. */
export function udpQuery(port: number, packet: Buffer, waitMs = 1000, host = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); res(undefined); }, waitMs);
    s.on('message', (m) => { clearTimeout(t); s.close(); res(m); });
    s.send(packet, port, host);
  });
}

/** One query over TCP (2-byte length prefix); resolves with the answer, or undefined when the server closed without one. */
export function tcpQuery(port: number, packet: Buffer, host = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((res, rej) => {
    const s = connect({ host, port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { s.destroy(); rej(new Error('no TCP answer')); }, 5000);
    s.on('connect', () => { const f = Buffer.alloc(2 + packet.length); f.writeUInt16BE(packet.length, 0); packet.copy(f, 2); s.write(f); });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { clearTimeout(t); s.destroy(); res(buf.subarray(2, 2 + buf.readUInt16BE(0))); }
    });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(t); res(undefined); });
  });
}

export const query = (name: string, type: dns.RecordType = 'A', id = 4242): Buffer => dns.encode({ type: 'query', id, flags: dns.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
export const rcode = (answer: Buffer): number => answer.readUInt16BE(2) & 0xf;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the tests read of a decoded answer (dns-packet's types omit rcode and union the record data). */
export interface Decoded { id: number; rcode: string; flag_aa: boolean; flag_tc: boolean; answers: Array<{ type: string; data: unknown; ttl?: number }>; authorities: Array<{ type: string }> }
export const decode = (b: Buffer): Decoded => dns.decode(b) as unknown as Decoded;

/** The SPIFFE ID in the peer's certificate (from its DER). */
export const peerId = (s: TLSSocket): string => spiffeIdFromCertificate(new x509.X509Certificate(s.getPeerX509Certificate()!.raw)).toString();

/** A TLS backend with the SVID DIR/certs/<name>.pem requiring a client certificate; it answers "<its id> sees <client id>". */
export async function tlsBackend(certs: string, name: string, id: string, host = '127.0.0.1') {
  const s = tlsServer({
    cert: readFileSync(join(certs, `${name}.pem`)), key: readFileSync(join(certs, `${name}.key.pem`)), ca: readFileSync(join(certs, 'root-ca.pem')),
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3',
  }, (sock) => { sock.end(`${id} sees ${peerId(sock)}`); });
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return { port: (s.address() as { port: number }).port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/**
 * Mutual TLS to 127.0.0.1:PORT (a router or proxy) with server name `sni`, as the client DIR/certs/<client>.pem;
 * resolves with the backend's SPIFFE ID and message, or the error (closed before the handshake, reset …).
 */
export function throughSni(certs: string, client: string, port: number, sni: string): Promise<{ id: string; text: string } | Error> {
  return new Promise((res) => {
    const s = tlsConnect({
      host: '127.0.0.1', port, servername: sni, minVersion: 'TLSv1.3',
      cert: readFileSync(join(certs, `${client}.pem`)), key: readFileSync(join(certs, `${client}.key.pem`)), ca: readFileSync(join(certs, 'root-ca.pem')),
      checkServerIdentity: () => undefined, // the peer is checked by SPIFFE ID, not by DNS name
    });
    let text = '';
    let id = '';
    s.on('secureConnect', () => { id = peerId(s); });
    s.on('data', (d: Buffer) => { text += d.toString(); });
    s.on('end', () => res(id ? { id, text } : new Error('closed before the handshake')));
    s.on('error', (e) => res(e));
    s.setTimeout(10_000, () => { s.destroy(); res(new Error('timeout')); });
  });
}
