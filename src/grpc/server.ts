/**
 * createSecureServer: a normal `grpc.Server` (users keep their service code) with FlyMe's credentials
 * (mTLS 1.3, reloadable) and the auth interceptor (SPIFFE ID authorizer, optional JWT, per-method roles).
 *
 * @example
 * const s = await createSecureServer({ certsDir: '/etc/flyme/certs', methods: { '/flyme.example.Greeter/SayHello': ['greeter.read'] } })
 * s.server.addService(GreeterService, impl)
 * await s.bind('unix:///run/greeter.sock')
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { SecurityEventSink } from '../auth/events.js';
import { JwksFileSource } from '../auth/jwt/jwks-source.js';
import { TokenVerifier } from '../auth/jwt/verifier.js';
import type { RoleConfig } from '../auth/role-config.js';
import { flymeError } from '../errors.js';
import { authorizeMemberOf, type Authorizer } from '../identity/authorizer.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import { FlyMeServerCredentials, type IdentityFiles } from './credentials.js';
import { PeerVerifier } from './peer.js';
import { authInterceptor, type MethodRoles } from './server-auth.js';

export interface SecureServerOptions {
  /** A `flyme certs` directory (server.pem, server.key.pem, root-ca.pem), or explicit files. */
  certsDir?: string;
  identity?: IdentityFiles;
  /** Who may connect at all (default: any ID in the server's own trust domain). */
  clientAuthorizer?: Authorizer;
  methods: MethodRoles;
  publicMethods?: readonly string[];
  /** Require and verify bearer tokens: a verifier, or a JWKS file (reloaded on change) with issuer and audience. */
  tokens?: TokenVerifier | { jwksPath: string; issuer: string; audience: string };
  tokenRoles?: RoleConfig;
  /** SPIFFE ID → roles, for servers that take roles from certificates. */
  idRoles?: Readonly<Record<string, readonly string[]>>;
  events?: SecurityEventSink;
  /** Reload the certificate files when they change (default true). */
  watchCertificates?: boolean;
  serverOptions?: grpc.ServerOptions;
  /** Mode of Unix socket files after bind (default 0o660). */
  socketMode?: number;
}

export interface SecureGrpcServer {
  server: grpc.Server;
  credentials: FlyMeServerCredentials;
  /** Bind `unix:///path` or `host:port`; resolves with the port (1 for Unix sockets). */
  bind(address: string): Promise<number>;
  shutdown(): Promise<void>;
}

export async function createSecureServer(o: SecureServerOptions): Promise<SecureGrpcServer> {
  const files = o.identity ?? (o.certsDir ? { certPath: join(o.certsDir, 'server.pem'), keyPath: join(o.certsDir, 'server.key.pem'), caPath: join(o.certsDir, 'root-ca.pem') } : undefined);
  if (!files) throw flymeError('FLYME_INVALID_CONFIG', 'createSecureServer needs certsDir or identity files');
  const credentials = await FlyMeServerCredentials.load(files);
  const peers = new PeerVerifier(() => credentials.bundle, o.clientAuthorizer ?? authorizeMemberOf(SpiffeId.parse(credentials.spiffeId).trustDomain));
  let closeKeys: (() => void) | undefined;
  let tokens: TokenVerifier | undefined;
  if (o.tokens instanceof TokenVerifier) tokens = o.tokens;
  else if (o.tokens) {
    const keys = await JwksFileSource.open(o.tokens.jwksPath, { algorithms: ['ES256', 'EdDSA'] });
    closeKeys = () => keys.close();
    tokens = new TokenVerifier({ keys, issuer: o.tokens.issuer, audience: o.tokens.audience });
  }
  const interceptor = authInterceptor({
    peers, methods: o.methods,
    ...(o.publicMethods ? { publicMethods: o.publicMethods } : {}),
    ...(tokens ? { tokens } : {}),
    ...(o.tokenRoles ? { tokenRoles: o.tokenRoles } : {}),
    ...(o.idRoles ? { idRoles: o.idRoles } : {}),
    ...(o.events ? { events: o.events } : {}),
  });
  const server = new grpc.Server({ ...o.serverOptions, interceptors: [interceptor, ...(o.serverOptions?.interceptors ?? [])] });
  const stopWatching = o.watchCertificates === false ? () => {} : credentials.watch(() => peers.clear());
  return {
    server,
    credentials,
    bind: (address) => new Promise((resolve, reject) => {
      server.bindAsync(address, credentials, (err, port) => {
        if (err) {
          reject(flymeError('FLYME_ADDRESS_IN_USE', `cannot listen on ${address}: ${err.message}`));
          return;
        }
        const path = address.startsWith('unix://') ? address.slice('unix://'.length) : address.startsWith('unix:') ? address.slice(5) : undefined;
        (path ? chmod(path, o.socketMode ?? 0o660) : Promise.resolve()).then(() => resolve(port), reject);
      });
    }),
    shutdown: () => new Promise((resolve) => {
      stopWatching();
      closeKeys?.();
      server.tryShutdown(() => resolve());
    }),
  };
}
