/**
 * createSecureServer: a normal `grpc.Server` (users keep their service code) behind FlyMe's own listeners:
 * FlyMe accepts each connection (kernel peer credentials on Unix sockets), runs mutual TLS 1.3 with the
 * server's X509Source (per-trust-domain chain verification, revocation, the client authorizer, rotation and
 * live re-verification of open connections), and only then hands the connection to grpc-js, whose auth
 * interceptor adds the optional JWT and per-method roles.
 *
 * @example
 * const s = await createSecureServer({ source: await certsDirSource('/etc/flyme/certs', 'server'), methods: { '/flyme.example.Greeter/SayHello': ['greeter.read'] } })
 * s.server.addService(GreeterService, impl)
 * await s.bind('unix:///run/greeter.sock')
 */
import * as grpc from '@grpc/grpc-js';
import type { SecurityEventSink } from '../auth/events.js';
import { JwksFileSource } from '../auth/jwt/jwks-source.js';
import { TokenVerifier } from '../auth/jwt/verifier.js';
import type { RoleConfig } from '../auth/role-config.js';
import { flymeError } from '../errors.js';
import { authorizeMemberOf, type Authorizer } from '../identity/authorizer.js';
import { certsDirSource } from '../identity/source/files.js';
import type { X509Source } from '../identity/source/types.js';
import { TlsServerUpgrader } from '../identity/tls/server.js';
import { sourceFromFiles, type IdentityFiles } from './credentials.js';
import { InjectingServer } from './injecting.js';
import { PeerRegistry } from './peers.js';
import type { Policy } from '../auth/policy/policy.js';
import { authInterceptor, checkEventSink, type MethodRoles } from './server-auth.js';

export interface SecureServerOptions {
  /** The server's identity: an X509Source (e.g. the Workload API) … */
  source?: X509Source;
  /** … or a `flyme certs` directory (server.pem, server.key.pem, root-ca.pem) … */
  certsDir?: string;
  /** … or explicit files. */
  identity?: IdentityFiles;
  /** Who may connect at all (default: any ID in the server's own trust domain). */
  clientAuthorizer?: Authorizer;
  /** Method path → roles (see also `policy`; at least one of the two grants each method). */
  methods?: MethodRoles;
  /** flymed's policy (or a getter following reloads): bindings give roles, roles list method paths. */
  policy?: Policy | (() => Policy);
  publicMethods?: readonly string[];
  /** Methods a client may call on a connection without any client certificate (e.g. a join-token exchange). */
  unauthenticatedMethods?: readonly string[];
  /** Require and verify bearer tokens: a verifier, or a JWKS file (reloaded on change) with issuer and audience. */
  tokens?: TokenVerifier | { jwksPath: string; issuer: string; audience: string };
  tokenRoles?: RoleConfig;
  /** SPIFFE ID → roles, for servers that take roles from certificates. */
  idRoles?: Readonly<Record<string, readonly string[]>>;
  events?: SecurityEventSink;
  serverOptions?: grpc.ServerOptions;
  /** Mode of Unix socket files (default 0o660). */
  socketMode?: number;
  /** TLS handshake deadline (default 10 s; a handshake is dropped up to a quarter of it, at most 250 ms, later). */
  handshakeTimeoutMs?: number;
  /** Most concurrent connections, handshakes included (default 1024). */
  maxConnections?: number;
  /** Most connections from one peer (remote address; uid on Unix sockets), default 64: one peer cannot take every slot. */
  maxConnectionsPerPeer?: number;
}

export interface SecureGrpcServer {
  server: grpc.Server;
  /** What FlyMe established about each connection (`peers.lookup(call.getPeer())`). */
  peers: PeerRegistry;
  /** The server's identity source (rotation reaches new handshakes and re-verifies live connections). */
  source: X509Source;
  upgrader: TlsServerUpgrader;
  /** Bind `unix:///path` or `host:port` (`[::1]:port` for IPv6); resolves with the port (1 for Unix sockets). */
  bind(address: string): Promise<number>;
  /** Closes listeners and connections (in-flight calls get `graceMs`, default 5 s). */
  shutdown(graceMs?: number): Promise<void>;
}

/** `unix:///p`, `unix:/p`, `host:port` → the FlyMe TLS listener URL (`tls://` and `unix+tls://` pass as they are). */
function listenUrl(address: string): string {
  if (address.startsWith('tls://') || address.startsWith('unix+tls://')) return address;
  if (address.startsWith('unix://')) return `unix+tls://${address.slice('unix://'.length)}`;
  if (address.startsWith('unix:')) return `unix+tls://${address.slice('unix:'.length)}`;
  return `tls://${address}`;
}

async function serverSource(o: SecureServerOptions): Promise<{ source: X509Source; owned: boolean }> {
  if (o.source) return { source: o.source, owned: false };
  if (o.identity) return { source: await sourceFromFiles(o.identity), owned: true };
  if (o.certsDir) return { source: await certsDirSource(o.certsDir, 'server'), owned: true };
  throw flymeError('FLYME_INVALID_CONFIG', 'createSecureServer needs source, certsDir or identity files');
}

export async function createSecureServer(o: SecureServerOptions): Promise<SecureGrpcServer> {
  checkEventSink(o.events); // before anything is opened
  const { source, owned } = await serverSource(o);
  let closeKeys: (() => void) | undefined;
  let tokens: TokenVerifier | undefined;
  if (o.tokens instanceof TokenVerifier) tokens = o.tokens;
  else if (o.tokens) {
    const keys = await JwksFileSource.open(o.tokens.jwksPath, { algorithms: ['ES256', 'EdDSA'] });
    closeKeys = () => keys.close();
    tokens = new TokenVerifier({ keys, issuer: o.tokens.issuer, audience: o.tokens.audience });
  }
  const upgrader = new TlsServerUpgrader({
    source,
    authorizer: o.clientAuthorizer ?? authorizeMemberOf(source.svid().spiffeId.trustDomain),
    alpnProtocols: ['h2'],
    deferRefusal: true, // each call is then answered UNAUTHENTICATED / PERMISSION_DENIED with the reason
    ...(o.handshakeTimeoutMs ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    ownsSource: owned,
  });
  const peers = new PeerRegistry();
  const interceptor = authInterceptor({
    peers, ...(o.methods ? { methods: o.methods } : {}), ...(o.policy ? { policy: o.policy } : {}), publicMethods: o.publicMethods, unauthenticatedMethods: o.unauthenticatedMethods,
    tokens, tokenRoles: o.tokenRoles, idRoles: o.idRoles, events: o.events,
  });
  const inj = new InjectingServer(peers, interceptor, o.serverOptions, { upgrader, socketMode: o.socketMode, maxConnections: o.maxConnections, maxConnectionsPerPeer: o.maxConnectionsPerPeer, events: o.events });
  return {
    server: inj.server,
    peers,
    source,
    upgrader,
    bind: async (address) => {
      const a = await inj.listen(listenUrl(address));
      return a.kind === 'tcp' ? a.port : 1;
    },
    shutdown: async (graceMs = 5000) => {
      closeKeys?.();
      upgrader.close();
      await inj.shutdown(graceMs);
    },
  };
}
