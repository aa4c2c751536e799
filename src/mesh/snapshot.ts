/**
 * One look at a registry: connect over mutual TLS (the registry must present `registryId`), Watch until
 * SYNCED, return the live records, close. For generators that write a proxy's static configuration (Envoy,
 * HAProxy) and for `flyme registry resolve|watch`.
 */
import * as grpc from '@grpc/grpc-js';
import { flymeError, FlyMeError } from '../errors.js';
import { fromGrpcError } from '../grpc/call.js';
import { SecureGrpcClientBuilder } from '../grpc/client.js';
import { serviceOf } from '../grpc/proto-files.js';
import type { Authorizer } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { REGISTRY_PROTO } from './server.js';

/** A record as the registry sends it (wire names; times in Unix seconds). */
export interface WireRecord { name: string; address: string; port: number; sni: string; owner: string; registered_at: number; expires_at: number }
export interface WatchMessage { kind: string; record?: WireRecord }

export interface RegistryConnection {
  /** `host:port` or `unix:///path` (see grpcTarget). */
  target: string;
  /** The registry's SPIFFE ID (checked in its certificate), or an Authorizer for it. */
  registryId: string | Authorizer;
  source: X509Source;
}

/** A Registry client (the caller closes it). */
export async function registryGrpcClient(o: RegistryConnection): Promise<grpc.Client> {
  const Registry = serviceOf(REGISTRY_PROTO, 'flyme.mesh.v1.Registry');
  return new SecureGrpcClientBuilder().withTls(o.source, o.registryId).build(o.target, Registry);
}

/**
 * The registry's live records (of `name` only, when given), from a Watch's SNAPSHOT messages up to SYNCED.
 * @throws FlyMeError FLYME_TIMEOUT when SYNCED does not arrive within `timeoutMs` (default 10 s), or the
 *   registry's refusal (FLYME_UNREACHABLE, FLYME_PERMISSION_DENIED, …).
 */
export async function readRegistrySnapshot(o: RegistryConnection & { name?: string; timeoutMs?: number }): Promise<WireRecord[]> {
  const client = await registryGrpcClient(o);
  try {
    return await new Promise<WireRecord[]>((resolve, reject) => {
      const call = (client as unknown as { Watch(req: object, opts: grpc.CallOptions): grpc.ClientReadableStream<WatchMessage> })
        .Watch({ name: o.name ?? '' }, { deadline: Date.now() + (o.timeoutMs ?? 10_000) });
      const records: WireRecord[] = [];
      let done = false;
      const finish = (err?: FlyMeError) => {
        if (done) return;
        done = true;
        call.cancel();
        if (err) reject(err);
        else resolve(records);
      };
      call.on('data', (m: WatchMessage) => {
        if (m.kind === 'SNAPSHOT' && m.record) records.push(m.record);
        else if (m.kind === 'SYNCED') finish();
      });
      call.on('error', (e: grpc.ServiceError) => finish(fromGrpcError(e, `registry ${o.target}`)));
      call.on('end', () => finish(flymeError('FLYME_CONNECTION_CLOSED', `registry ${o.target} ended the watch before its snapshot was complete`)));
    });
  } finally {
    client.close();
  }
}
