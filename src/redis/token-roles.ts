/**
 * Roles from a token carried in an envelope, verified like the daemon's tokens: trusted issuer, audience,
 * expiry; bound to the signer's SPIFFE ID (a token lifted from one publisher's messages is refused in
 * another's); roles are claimed ∩ what the RoleConfig allows (or as claimed when none is given).
 */
import type { TokenVerifier } from '../auth/jwt/verifier.js';
import type { RoleConfig } from '../auth/role-config.js';

export function envelopeTokenRoles(verifier: TokenVerifier, roles?: RoleConfig): (jwt: string, from: string) => Promise<string[]> {
  return async (jwt, from) => {
    const v = await verifier.verify(jwt, { connectionId: `pubsub-signer:${from}` });
    return roles ? roles.grantedRoles(v.identity.claimedRoles, v.identity.iss, v.identity.sub).granted : v.identity.claimedRoles;
  };
}
