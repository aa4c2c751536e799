/** A gRPC test bed: a CA with server/client identities on disk, a token issuer, Greeter + Ticker services. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { exportJWK, generateKeyPair } from 'jose';
import { createRootCA, issueSvidWithKey, type CertificateAuthority } from '../../../src/identity/index.js';
import { TokenIssuer } from '../../../src/auth/index.js';
import { principalOf, type IdentityFiles } from '../../../src/grpc/index.js';
import { GREETER_PROTO } from '../../../examples/greeter/greeter.js';

export const TD = 'flyme.local';
const TICKER_PROTO = fileURLToPath(new URL('../../../../test/fixtures/grpc/ticker.proto', import.meta.url));

export interface Bed {
  dir: string;
  /** The CA every identity of the bed is issued by. */
  ca: CertificateAuthority;
  files(name: string): IdentityFiles;
  issuer: TokenIssuer;
  /** Same key, clock an hour behind: its tokens are already expired. */
  pastIssuer: TokenIssuer;
  jwksPath: string;
  cleanup(): void;
}

export async function makeBed(): Promise<Bed> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-grpc-'));
  const ca = await createRootCA({ trustDomain: TD, days: 1 });
  const other = await createRootCA({ trustDomain: TD, days: 1 });
  writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'other-ca.pem'), other.certPem);
  const put = async (name: string, c = ca, id = `spiffe://${TD}/${name}`, extra: { notBefore?: Date; notAfter?: Date } = {}) => {
    const s = await issueSvidWithKey(c, { spiffeId: id, dnsNames: ['localhost'], ...(extra.notAfter ? extra : { days: 1 }) });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
  };
  await put('greeter');
  await put('client');
  await put('reader');
  await put('stranger');
  await put('foreign', other, `spiffe://${TD}/client`);
  await put('expired', ca, `spiffe://${TD}/client`, { notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256' };
  const jwksPath = join(dir, 'jwks.json');
  writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  const issuer = await TokenIssuer.create({ key: jwk, issuer: 'flyme-test' });
  const pastIssuer = await TokenIssuer.create({ key: jwk, issuer: 'flyme-test', clock: () => new Date(Date.now() - 3600_000) });
  return {
    dir,
    ca,
    files: (name) => ({ certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`), caPath: join(dir, 'root-ca.pem') }),
    issuer,
    pastIssuer,
    jwksPath,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

type Ctor = grpc.ServiceClientConstructor;
export function services(): { Greeter: Ctor; Ticker: Ctor } {
  const g = grpc.loadPackageDefinition(loadSync(GREETER_PROTO, { keepCase: true, defaults: true })) as unknown as { flyme: { example: { Greeter: Ctor } } };
  const t = grpc.loadPackageDefinition(loadSync(TICKER_PROTO, { keepCase: true, defaults: true })) as unknown as { flyme: { test: { Ticker: Ctor } } };
  return { Greeter: g.flyme.example.Greeter, Ticker: t.flyme.test.Ticker };
}

/** Handlers that echo who called (read through principalOf). */
export function addServices(server: grpc.Server): void {
  const { Greeter, Ticker } = services();
  server.addService(Greeter.service, {
    SayHello: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<{ message: string }>) => {
      const p = principalOf(call);
      cb(null, { message: `hello ${call.request.name} from ${p.token?.sub ?? p.cert?.spiffeId} roles=${p.roles.join(',')}` });
    },
    SetGreeting: (call: grpc.ServerUnaryCall<{ greeting: string }, unknown>, cb: grpc.sendUnaryData<{ greeting: string }>) => cb(null, { greeting: call.request.greeting }),
  });
  server.addService(Ticker.service, {
    Ticks: (call: grpc.ServerWritableStream<{ count: number }, unknown>) => {
      const caller = principalOf(call).cert?.spiffeId ?? '';
      for (let n = 1; n <= Math.min(call.request.count, 100); n++) call.write({ n, caller });
      call.end();
    },
  });
}

export interface CallResult { ok: boolean; code?: number; details?: string; value?: Record<string, unknown> }

export function unary(client: grpc.Client, method: string, req: object, md = new grpc.Metadata()): Promise<CallResult> {
  return new Promise((resolve) => {
    (client as unknown as Record<string, (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: Record<string, unknown>) => void) => void>)[method]!(
      req, md, { deadline: Date.now() + 10_000 },
      (err, value) => resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, ...(value ? { value } : {}) }),
    );
  });
}
