/** Scenario helpers for `flyme service`: start one (SVID DIR/certs/<svid>.pem), and an endpoint.Endpoint client per identity. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { startFlyme, type Proc } from './agent.js';
import { SERVER_ID, type RunningRegistry } from './mesh.js';
import { SecureGrpcClientBuilder } from '../../src/grpc/client.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');

export interface RunningService { proc: Proc; port: number; target: string; id: string; ready: Record<string, unknown> }

/** `flyme --certs DIR/certs service --svid SVID --sni SNI` on 127.0.0.1 and a free port, registered in `reg`. */
export async function startService(certs: string, svid: string, sni: string, reg: RunningRegistry, extra: string[] = []): Promise<RunningService> {
  const proc = await startFlyme(['--certs', certs, 'service', '--svid', svid, '--sni', sni, '--registry', `tls://${reg.target}`, '--registry-id', SERVER_ID,
    '--bind-ip', '127.0.0.1', '--port', '0', ...extra], 'flyme service ready');
  const ready = proc.log().split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((l) => l.msg === 'flyme service ready')!;
  const target = String(ready.listen);
  return { proc, port: Number(target.split(':').pop()), target, id: String(ready.id), ready };
}

export interface EndpointClient {
  call<T = Record<string, unknown>>(method: 'Connect' | 'Whoami', req: object): Promise<T>;
  close(): void;
}

/** An endpoint.Endpoint client with the SVID DIR/<name>.pem that accepts only the server SPIFFE ID `serverId` (proto from proto/). */
export async function endpointClient(certs: string, name: string, target: string, serverId: string): Promise<EndpointClient> {
  const def = loadSync(join(root, 'proto/endpoint.proto'), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { endpoint: { Endpoint: grpc.ServiceClientConstructor } };
  const c = await new SecureGrpcClientBuilder()
    .withTls({ certPath: join(certs, `${name}.pem`), keyPath: join(certs, `${name}.key.pem`), caPath: join(certs, 'root-ca.pem') }, serverId)
    .build(target, pkg.endpoint.Endpoint);
  const raw = c as unknown as Record<string, (req: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>;
  return {
    call: <T>(method: string, req: object) => new Promise<T>((res, rej) => raw[method]!.call(c, req, { deadline: Date.now() + 15_000 }, (e, r) => (e ? rej(e) : res(r as T)))),
    close: () => c.close(),
  };
}

export interface ConnectReply { peer_spiffe_id: string; tls_version: string; rtt_micros: number; via_router: boolean; dialed: string }
