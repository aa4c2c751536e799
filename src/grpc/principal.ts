/** The caller's principal inside a gRPC handler, as the auth interceptor decided it. */
import type * as grpc from '@grpc/grpc-js';

/** Metadata key the interceptor fills (any client-sent value is removed first). */
export const PRINCIPAL_KEY = 'x-flyme-principal-bin';

/** JSON view of a principal (same shape as the daemon's `whoami`). */
export interface GrpcPrincipal {
  transport: string;
  cert?: { spiffeId: string; serial: string; notAfter: string; thumbprint: string };
  token?: { iss: string; sub: string; aud: string[]; exp: number; jti: string; claimedRoles: string[] };
  roles: string[];
  roleSources: Record<string, string>;
}

/**
 * @example
 * SayHello(call, cb) { const who = principalOf(call); cb(null, { message: `hi ${who.cert?.spiffeId}` }) }
 */
export function principalOf(call: { metadata: grpc.Metadata }): GrpcPrincipal {
  const raw = call.metadata.get(PRINCIPAL_KEY)[0];
  if (!Buffer.isBuffer(raw)) throw new Error('no FlyMe principal on this call: is the server built with createSecureServer (authInterceptor)?');
  return JSON.parse(raw.toString('utf8')) as GrpcPrincipal;
}
