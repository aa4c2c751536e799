/**
 * The Endpoint server of `flyme service` (`endpoint.Endpoint`, proto/endpoint.proto): flyme/grpc mutual TLS
 * 1.3 on the service's own address, reflection on, small messages. Deny by default: Connect makes the service
 * dial with its own identity, so only the SPIFFE IDs in `allowConnect` may call it; Whoami answers any peer
 * the TLS layer accepted (the server's trust domain).
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SecurityEventSink } from '../../auth/events.js';
import { FlyMeError, flymeError } from '../../errors.js';
import { principalOf } from '../../grpc/principal.js';
import { loadProto, serviceOf } from '../../grpc/proto-files.js';
import { createSecureServer } from '../../grpc/server.js';
import { grpcError, type GrpcStatusError } from '../../grpc/status.js';
import { probe, type Prober } from './connect.js';

export const ENDPOINT_PROTO = 'endpoint.proto';
const SERVICE = 'endpoint.Endpoint';
const REFLECTION = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'];
const LIMITS: grpc.ServerOptions = { 'grpc.max_receive_message_length': 4 * 1024, 'grpc.max_concurrent_streams': 32, 'grpc.max_connection_idle_ms': 300_000 };

export interface EndpointOptions extends Prober {
  /** `host:port` / `[v6]:port` (port 0: a free port). */
  listen: string;
  /** SPIFFE IDs that may call Connect (an empty list: nobody). */
  allowConnect: readonly string[];
  /** Most Connect calls at once (default 16); more are RESOURCE_EXHAUSTED. */
  maxConcurrentConnects?: number;
  events?: SecurityEventSink;
  /** Each refused or failed Connect, for the log. */
  onConnect?(caller: string, outcome: { ok: true; peer: string } | { ok: false; code: string; message: string }): void;
}

export interface EndpointServer { port: number; close(): Promise<void> }

/** FlyMe's error for a Connect → its gRPC status; the details are `FLYME_CODE: reason` (internal errors excepted). */
export function connectStatus(err: unknown): GrpcStatusError {
  if (!(err instanceof FlyMeError)) return grpcError(err);
  const code =
    err.code === 'FLYME_ID_NOT_AUTHORIZED' || err.code === 'FLYME_UNTRUSTED_CERTIFICATE' || err.code === 'FLYME_CERT_EXPIRED' || err.code === 'FLYME_INVALID_CERTIFICATE' || err.code === 'FLYME_PERMISSION_DENIED' ? grpc.status.PERMISSION_DENIED
    : err.code === 'FLYME_TIMEOUT' ? grpc.status.DEADLINE_EXCEEDED
    : err.code === 'FLYME_UNREACHABLE' || err.code === 'FLYME_HANDSHAKE_FAILED' || err.code === 'FLYME_SOCKET_ACCESS_DENIED' ? grpc.status.UNAVAILABLE
    : err.code === 'FLYME_REGISTRY_FULL' || err.code === 'FLYME_TOO_MANY_REQUESTS' ? grpc.status.RESOURCE_EXHAUSTED
    : undefined;
  if (code === undefined) {
    const s = grpcError(err);
    return s.code === grpc.status.INTERNAL ? s : { ...s, details: `${err.code}: ${s.details}` };
  }
  return { code, details: `${err.code}: ${err.message}` };
}

export async function serveEndpoint(o: EndpointOptions): Promise<EndpointServer> {
  const self = o.source.svid().spiffeId.toString();
  const allowed = new Set(o.allowConnect);
  const max = o.maxConcurrentConnects ?? 16;
  let running = 0;
  const impl: grpc.UntypedServiceImplementation = {
    Whoami: (call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) => {
      cb(null, { spiffe_id: principalOf(call).cert?.spiffeId ?? '', server_spiffe_id: self });
    },
    Connect: (call: grpc.ServerUnaryCall<{ address: string; sni: string }, object>, cb: grpc.sendUnaryData<object>) => {
      const caller = principalOf(call).cert?.spiffeId ?? '';
      const fail = (err: unknown) => {
        const s = connectStatus(err);
        o.onConnect?.(caller, { ok: false, code: grpc.status[s.code], message: s.details });
        cb(s as grpc.ServiceError);
      };
      if (!allowed.has(caller)) {
        fail(flymeError('FLYME_PERMISSION_DENIED', `${caller || 'this caller'} may not call Connect: it opens connections with this service's identity (${self}), so only the --allow-connect IDs may (${[...allowed].join(', ') || 'none'})`, { caller }));
        return;
      }
      if (running >= max) {
        fail(flymeError('FLYME_TOO_MANY_REQUESTS', `at most ${max} Connect calls run at once; try again`));
        return;
      }
      running++;
      const deadline = call.getDeadline();
      const until = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
      probe(o, call.request, until).then((r) => {
        o.onConnect?.(caller, { ok: true, peer: r.peer_spiffe_id });
        cb(null, r);
      }, fail).finally(() => { running--; });
    },
  };
  const s = await createSecureServer({
    source: o.source, serverOptions: LIMITS,
    publicMethods: [`/${SERVICE}/Connect`, `/${SERVICE}/Whoami`, ...REFLECTION],
    ...(o.events ? { events: o.events } : {}),
  });
  s.server.addService(serviceOf(ENDPOINT_PROTO, SERVICE).service, impl);
  new ReflectionService(loadProto(ENDPOINT_PROTO)).addToServer(s.server);
  try {
    const port = await s.bind(o.listen);
    return { port, close: () => s.shutdown(1000) };
  } catch (err) {
    await s.shutdown(0);
    throw err;
  }
}
