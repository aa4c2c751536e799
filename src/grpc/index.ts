/** Secure gRPC for @grpc/grpc-js (curated public surface, listed in docs/api.md). See docs/grpc.md. */
export { createSecureServer, type SecureServerOptions, type SecureGrpcServer } from './server.js';
export { createLocalServer, type LocalServerOptions, type LocalGrpcServer } from './local-server.js';
export { SecureGrpcClientBuilder, clientFiles } from './client.js';
export { channelCredentials, tokenCallCredentials, sourceFromFiles, type IdentityFiles, type TokenProvider } from './credentials.js';
export { SourceCertificateProvider } from './certificate-provider.js';
export { authInterceptor, type AuthInterceptorOptions, type MethodRoles } from './server-auth.js';
export { PeerRegistry, type ConnectionIdentity } from './peers.js';
export { principalOf, PRINCIPAL_KEY, type GrpcPrincipal } from './principal.js';
