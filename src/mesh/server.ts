/**
 * `flyme registry serve`: the Registry over gRPC (flyme/grpc: mutual TLS, any SPIFFE ID of the server's trust
 * domain may connect; reflection on). Who may change a name is decided by the registry (ownership rules)
 * from the verified peer certificate's SPIFFE ID, never from the request.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SecurityEventSink } from '../auth/events.js';
import { principalOf } from '../grpc/principal.js';
import { loadProto, serviceOf } from '../grpc/proto-files.js';
import { createSecureServer } from '../grpc/server.js';
import { unary } from '../grpc/status.js';
import type { X509Source } from '../identity/source/types.js';
import { canonicalName } from './names.js';
import type { ChangeKind, Registry, RegistryRecord } from './registry.js';
import { flymeError } from '../errors.js';

export const REGISTRY_PROTO = 'flyme/mesh/registry.proto';
const SERVICE = 'flyme.mesh.v1.Registry';
const METHODS = ['Register', 'Renew', 'Deregister', 'Resolve', 'Watch'].map((m) => `/${SERVICE}/${m}`);
const REFLECTION = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'];
/** Registry messages are tiny: bound what one peer can make the registry buffer. */
const LIMITS: grpc.ServerOptions = { 'grpc.max_receive_message_length': 4 * 1024, 'grpc.max_concurrent_streams': 64, 'grpc.max_connection_idle_ms': 300_000 };
/** A watcher that does not read: its stream ends once this much is queued for it. */
const MAX_WATCH_BACKLOG = 256 * 1024;

export interface RegistryServerOptions {
  registry: Registry;
  source: X509Source;
  /** `tls://host:port` or `unix+tls:///path` (repeatable). */
  listen: readonly string[];
  events?: SecurityEventSink;
  /** Most concurrent Watch streams (default 256). */
  maxWatchers?: number;
  /** Most concurrent Watch streams of one caller (SPIFFE ID; default 8), so no identity can take them all. */
  maxWatchersPerCaller?: number;
}

export interface RegistryServer {
  addresses: string[];
  close(): Promise<void>;
}

type WireRecord = { name: string; address: string; port: number; sni: string; owner: string; registered_at: number; expires_at: number };
export const wireRecord = (r: RegistryRecord): WireRecord => ({
  name: r.name, address: r.address, port: r.port, sni: r.sni, owner: r.owner,
  registered_at: Math.floor(r.registeredAt / 1000), expires_at: Math.floor(r.expiresAt / 1000),
});
const callerOf = (call: { metadata: grpc.Metadata }): string | undefined => principalOf(call).cert?.spiffeId;

export async function serveRegistry(o: RegistryServerOptions): Promise<RegistryServer> {
  const reg = o.registry;
  const watchersOf = new Map<string, number>();
  const registered = (r: RegistryRecord) => ({ record: wireRecord(r), expires_at: Math.floor(r.expiresAt / 1000), ttl_seconds: reg.ttlSeconds });
  const impl: grpc.UntypedServiceImplementation = {
    Register: unary<{ name: string; address: string; port: number; sni: string }, object>(async (call) => registered(await reg.register(callerOf(call), call.request))),
    Renew: unary<{ name: string; address: string; port: number }, object>(async (call) => registered(await reg.renew(callerOf(call), call.request))),
    Deregister: unary<{ name: string; address: string; port: number }, object>(async (call) => ({ removed: await reg.deregister(callerOf(call), call.request) })),
    Resolve: unary<{ name: string }, object>(async (call) => {
      const name = canonicalName(String(call.request.name ?? ''));
      const records = reg.lookup(name);
      if (records.length === 0) throw flymeError('FLYME_NOT_FOUND', `no live record for ${name.slice(0, 253)}`, { name });
      return { records: records.map(wireRecord) };
    }),
    Watch: (call: grpc.ServerWritableStream<{ name: string }, object>) => {
      if (reg.watchers >= (o.maxWatchers ?? 256)) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `the registry serves at most ${o.maxWatchers ?? 256} watchers` });
        return;
      }
      // Watch is open to every identity of the trust domain: one of them holding every stream starved the
      // routers (a router that restarts, or whose stream broke, had no routes for as long as it held them).
      const caller = callerOf(call) ?? '(no certificate)';
      const perCaller = o.maxWatchersPerCaller ?? 8;
      const mine = watchersOf.get(caller) ?? 0;
      if (mine >= perCaller) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `${caller.slice(0, 300)} already holds ${mine} watch streams (at most ${perCaller} per caller)` });
        return;
      }
      watchersOf.set(caller, mine + 1);
      let counted = true;
      const uncount = () => {
        if (!counted) return;
        counted = false;
        const n = (watchersOf.get(caller) ?? 1) - 1;
        if (n <= 0) watchersOf.delete(caller);
        else watchersOf.set(caller, n);
      };
      const only = call.request.name ? canonicalName(call.request.name) : undefined;
      const send = (kind: ChangeKind | 'SNAPSHOT' | 'SYNCED', r?: RegistryRecord) => {
        if (call.cancelled || call.destroyed) return;
        if (r && only && r.name !== only) return;
        if (call.writableLength > MAX_WATCH_BACKLOG) {
          stop();
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'watcher too slow: changes were not read' });
          return;
        }
        call.write(r ? { kind, record: wireRecord(r) } : { kind });
      };
      const unwatch = reg.watch((kind, r) => send(kind, r));
      const stop = () => { unwatch(); uncount(); };
      for (const r of only ? reg.lookup(only) : reg.all()) send('SNAPSHOT', r);
      send('SYNCED');
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
  const Registry = serviceOf(REGISTRY_PROTO, SERVICE);
  const reflection = new ReflectionService(loadProto(REGISTRY_PROTO));
  const s = await createSecureServer({
    source: o.source, serverOptions: LIMITS, publicMethods: [...METHODS, ...REFLECTION],
    ...(o.events ? { events: o.events } : {}),
  });
  s.server.addService(Registry.service, impl);
  reflection.addToServer(s.server);
  const addresses: string[] = [];
  try {
    for (const url of o.listen) {
      const port = await s.bind(url);
      addresses.push(url.startsWith('tls://') ? url.replace(/:\d+$/, `:${port}`) : url);
    }
  } catch (err) {
    await s.shutdown(0);
    throw err;
  }
  return { addresses, close: () => s.shutdown(1000) };
}
