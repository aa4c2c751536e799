/**
 * The one authorization decision. Every FlyMe server — flymed, `flyme/server` built by a library user,
 * `flyme/grpc` — asks this function whether a principal may use a permission, over a policy's role table;
 * `flyme explain` asks the same function about an offline subject. Roles come from the policy (kernel uid/gid,
 * certificate SPIFFE ID) and from a token; a token's roles last only while the token does: when a token check is
 * given, a token that expired, whose key left the JWKS or whose issuer is no longer trusted loses its roles at
 * the next decision, and a call that needed them fails with the token's reason (e.g. FLYME_TOKEN_EXPIRED).
 */
import { flymeError, type FlyMeError, type FlyMeErrorCode } from '../errors.js';
import type { Principal, TokenIdentity } from './principal.js';

/** Permissions every identified peer holds without a grant. */
export const PUBLIC_PERMISSIONS: ReadonlySet<string> = new Set(['whoami', 'authenticate']);

/** What a decision needs from a policy: which roles grant a permission. */
export interface RoleTable {
  roleGrants(role: string, permission: string): boolean;
  /** Roles that would grant a permission (for the error message). */
  rolesGranting(permission: string): string[];
}

/** Why a token no longer holds (undefined: it still does). */
export type TokenCheck = (token: TokenIdentity, now: number) => FlyMeError | undefined;

export interface DecideOptions {
  /** Checked before every decision on a principal holding a token (the daemon's TokenAuthority.check). */
  checkToken?: TokenCheck;
  /** Permissions granted to everyone identified (default {@link PUBLIC_PERMISSIONS}). */
  publicPermissions?: ReadonlySet<string>;
  now?: number;
}

/** The principal's token stopped being valid: drop the roles it granted, remember why. */
export function revokeTokenRoles(p: Principal, why: FlyMeError): void {
  const t = p.token;
  if (!t) return;
  const source = `token:${t.iss}/${t.sub}`;
  const roles: string[] = [];
  for (const [role, from] of p.roleSources) {
    if (from === source) {
      roles.push(role);
      p.roles.delete(role);
      p.roleSources.delete(role);
    }
  }
  delete p.token;
  p.tokenLost = { iss: t.iss, sub: t.sub, code: why.code, reason: why.message, roles: roles.sort() };
}

function who(p: Principal): string {
  return p.cert ? p.cert.spiffeId : p.peer ? `uid ${p.peer.uid}` : 'this peer';
}

/** Allow (undefined) or the FlyMeError to answer with. */
export function decide(table: RoleTable, p: Principal, permission: string, method: string, o: DecideOptions = {}): FlyMeError | undefined {
  if (p.token && o.checkToken) {
    const bad = o.checkToken(p.token, o.now ?? Date.now());
    if (bad) revokeTokenRoles(p, bad);
  }
  if ((o.publicPermissions ?? PUBLIC_PERMISSIONS).has(permission)) return undefined;
  for (const r of p.roles) if (table.roleGrants(r, permission)) return undefined;
  const would = table.rolesGranting(permission);
  const lost = p.tokenLost;
  if (lost && lost.roles.some((r) => table.roleGrants(r, permission))) {
    return flymeError(lost.code as FlyMeErrorCode, `permission denied: ${method} needs role ${lost.roles.filter((r) => table.roleGrants(r, permission)).join(', ')}, which only the token granted: ${lost.reason}`,
      { permission, method, grantedBy: would, tokenLost: lost.code });
  }
  const held = p.roles.size ? `holds roles ${[...p.roles].sort().join(', ')}, none of which grants it` : 'holds no role';
  return flymeError('FLYME_PERMISSION_DENIED',
    `permission denied: ${method} requires permission "${permission}"; ${who(p)} ${held} (granted by: ${would.join(', ') || 'no role'}; see flyme explain ${method})`,
    { permission, method, grantedBy: would });
}
