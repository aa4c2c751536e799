/**
 * createLocalServer: gRPC on a Unix socket whose callers are identified by the kernel (SO_PEERCRED, pinned
 * with a pidfd), without TLS — the FlyMe daemon's model for gRPC: the CA's admin socket and the SPIFFE
 * Workload API. Roles come from kernel credentials (`peerRoles`); methods not in the map are denied.
 *
 * @example
 * const s = createLocalServer({ methods: { '/flyme.ca.v1.CAAdmin/CreateEntry': ['ca.admin'] }, peerRoles: (p) => p.uid === 0 ? ['ca.admin'] : [] })
 * s.server.addService(…); await s.bind('unix:///run/flyme/ca-admin.sock')
 */
import type * as grpc from '@grpc/grpc-js';
import type { SecurityEventSink } from '../auth/events.js';
import type { PeerIdentity } from '../auth/principal.js';
import { flymeError } from '../errors.js';
import { InjectingServer } from './injecting.js';
import { PeerRegistry } from './peers.js';
import type { Policy } from '../auth/policy/policy.js';
import { authInterceptor, type MethodRoles } from './server-auth.js';

export interface LocalServerOptions {
  /** Method path → roles (see also `policy`). */
  methods?: MethodRoles;
  /** flymed's policy (or a getter following reloads): uid/gid bindings give roles, roles list method paths. */
  policy?: Policy | (() => Policy);
  /** Methods any local caller may reach (the handler then decides, e.g. by attestation). */
  publicMethods?: readonly string[];
  peerRoles?(peer: PeerIdentity): readonly string[];
  /** Keep each caller's pidfd for the life of its connection (needed to attest it later). */
  pinPeers?: boolean;
  /** Mode of the socket file (default 0o660; the Workload API uses 0o666 and attests every call). */
  socketMode?: number;
  /** Mode of a socket directory that has to be created (default 0o750; the Workload API uses 0o755). */
  dirMode?: number;
  maxConnections?: number;
  events?: SecurityEventSink;
  serverOptions?: grpc.ServerOptions;
}

export interface LocalGrpcServer {
  server: grpc.Server;
  peers: PeerRegistry;
  /** `unix:///abs/path` only. */
  bind(address: string): Promise<void>;
  shutdown(graceMs?: number): Promise<void>;
}

export function createLocalServer(o: LocalServerOptions): LocalGrpcServer {
  const peers = new PeerRegistry();
  const interceptor = authInterceptor({
    peers, ...(o.methods ? { methods: o.methods } : {}), ...(o.policy ? { policy: o.policy } : {}), local: true, publicMethods: o.publicMethods, peerRoles: o.peerRoles, events: o.events, transport: 'grpc+unix',
  });
  const inj = new InjectingServer(peers, interceptor, o.serverOptions, {
    pinPeers: o.pinPeers, socketMode: o.socketMode, dirMode: o.dirMode, maxConnections: o.maxConnections, events: o.events,
  });
  return {
    server: inj.server,
    peers,
    bind: async (address) => {
      if (!/^unix:\/\/\//.test(address)) throw flymeError('FLYME_INVALID_ADDRESS', `${address}: a local gRPC server listens on unix:///absolute/path only (callers are identified by the kernel)`, { address });
      await inj.listen(address);
    },
    shutdown: (graceMs) => inj.shutdown(graceMs),
  };
}
