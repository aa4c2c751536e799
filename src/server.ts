/** `flyme/server`: build your own FlyMe daemon. */
export { RpcServer, type RpcServerOptions, type RpcObserver, type ServerStats, type ServerLogger } from './rpc/server.js';
export type { MethodDefinition, CallContext } from './rpc/method.js';
export { publicOnlyAuthorize, PUBLIC_PERMISSIONS, type Authorize } from './rpc/authorize.js';
export { Policy } from './auth/policy/policy.js';
export { decide, type DecideOptions, type RoleTable } from './auth/decision.js';
export { DEFAULT_LIMITS, type ServerLimits } from './rpc/limits.js';
export type { Principal, PeerIdentity, CertificateIdentity, TokenIdentity } from './auth/principal.js';
export { describePrincipal } from './auth/principal.js';
export { Type } from '@sinclair/typebox';
