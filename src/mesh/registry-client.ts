/**
 * A typed client of the registry (`flyme.mesh.v1.Registry`) over mutual TLS, for workloads that register
 * themselves (`flyme service`), resolve a name's owner (Connect, the egress proxy) or read a snapshot.
 * Each unary call has a deadline; errors become FlyMeErrors with the registry's message.
 */
import * as grpc from '@grpc/grpc-js';
import { flymeError, type FlyMeError } from '../errors.js';
import { fromGrpcError } from '../grpc/call.js';
import type { Authorizer } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { registryGrpcClient } from './snapshot.js';

/** A record as the registry returns it (times in Unix seconds). */
export interface RemoteRecord {
  name: string;
  address: string;
  port: number;
  sni: string;
  owner: string;
  registeredAt: number;
  expiresAt: number;
}

export interface RegistryClientOptions {
  /** `tls://host:port`, `tls://[v6]:port` or `unix+tls:///path`. */
  url: string;
  /** The registry's SPIFFE ID, checked in its certificate (or any Authorizer, e.g. authorizeMemberOf). */
  registryId: string | Authorizer;
  /** The caller's SVID (its SPIFFE ID is what the registry's ownership rules see). */
  source: X509Source;
  /** Deadline of each unary call (default 5000 ms). */
  timeoutMs?: number;
}

/** `tls://host:port` / `unix+tls:///path` → the grpc-js target (`host:port` / `unix:///path`). */
export function registryTarget(url: string, what = 'registry address'): string {
  if (/^tls:\/\/[^/]+$/.test(url)) return url.slice('tls://'.length);
  if (url.startsWith('unix+tls:///')) return `unix://${url.slice('unix+tls://'.length)}`;
  throw flymeError('FLYME_INVALID_ADDRESS', `${what} ${url}: use tls://host:port or unix+tls:///path`, { address: url });
}

type Raw = { name: string; address: string; port: number; sni: string; owner: string; registeredAt?: string | number; expiresAt?: string | number; registered_at?: string | number; expires_at?: string | number };
const toRecord = (r: Raw): RemoteRecord => ({
  name: r.name, address: r.address, port: r.port, sni: r.sni, owner: r.owner,
  registeredAt: Number(r.registeredAt ?? r.registered_at ?? 0), expiresAt: Number(r.expiresAt ?? r.expires_at ?? 0),
});

/** The shared gRPC → FlyMe mapping, plus the registry's own limit (RESOURCE_EXHAUSTED: names or records per name). */
function fromStatus(method: string, e: grpc.ServiceError): FlyMeError {
  const err = fromGrpcError(e, `registry ${method}`);
  return e.code === grpc.status.RESOURCE_EXHAUSTED ? flymeError('FLYME_REGISTRY_FULL', err.message, err.data) : err;
}

type Unary = (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

export class RegistryClient {
  readonly #client: grpc.Client;
  readonly #timeoutMs: number;

  private constructor(client: grpc.Client, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  static async connect(o: RegistryClientOptions): Promise<RegistryClient> {
    const client = await registryGrpcClient({ target: registryTarget(o.url), registryId: o.registryId, source: o.source });
    return new RegistryClient(client, o.timeoutMs ?? 5000);
  }

  #call(method: string, req: object): Promise<Record<string, unknown>> {
    const fn = (this.#client as unknown as Record<string, Unary>)[method]!.bind(this.#client);
    return new Promise((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline: Date.now() + this.#timeoutMs }, (e, res) => (e ? reject(fromStatus(method, e)) : resolve(res)));
    });
  }

  /** Registers (or replaces) a record of a name the caller owns; returns it with the registry's TTL. */
  async register(r: { name: string; address: string; port: number; sni?: string }): Promise<{ record: RemoteRecord; ttlSeconds: number }> {
    const res = await this.#call('Register', { name: r.name, address: r.address, port: r.port, sni: r.sni ?? '' });
    return { record: toRecord(res.record as Raw), ttlSeconds: Number(res.ttlSeconds ?? res.ttl_seconds) };
  }

  async renew(r: { name: string; address: string; port: number }): Promise<{ record: RemoteRecord; ttlSeconds: number }> {
    const res = await this.#call('Renew', r);
    return { record: toRecord(res.record as Raw), ttlSeconds: Number(res.ttlSeconds ?? res.ttl_seconds) };
  }

  /** Removes the record (or every record of the name when `address` is omitted); returns how many went. */
  async deregister(r: { name: string; address?: string; port?: number }): Promise<number> {
    const res = await this.#call('Deregister', { name: r.name, address: r.address ?? '', port: r.port ?? 0 });
    return Number(res.removed ?? 0);
  }

  /** The live records of a name; FLYME_NOT_FOUND when none. */
  async resolve(name: string): Promise<RemoteRecord[]> {
    const res = await this.#call('Resolve', { name });
    return ((res.records as Raw[] | undefined) ?? []).map(toRecord);
  }

  /** The live records carrying TLS server name `sni` (found among `resolve(sni)`'s and, failing that, none). */
  async resolveSni(sni: string): Promise<RemoteRecord[]> {
    const own = await this.resolve(sni).catch((e: FlyMeError) => (e.code === 'FLYME_NOT_FOUND' ? [] : Promise.reject(e)));
    return own.filter((r) => r.sni === sni);
  }

  close(): void {
    this.#client.close();
  }
}
