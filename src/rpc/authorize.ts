/**
 * The authorize hook: decides per request whether a principal may call a method.
 * Default (no policy): uid 0 and the daemon's own uid are admins and may call anything;
 * every other peer may call only `whoami` and `authenticate` (present a token).
 */
import type { Principal } from '../auth/principal.js';
import { flymeError, type FlyMeError } from '../errors.js';
import { PUBLIC_PERMISSIONS } from '../auth/policy/policy.js';

export type Authorize = (principal: Principal, permission: string, method: string) => FlyMeError | undefined;

export { PUBLIC_PERMISSIONS };

/** Admin role from kernel credentials: uid 0 and the server's own uid. */
export function assignDefaultRoles(p: Principal, ownUid = process.getuid?.() ?? -1): void {
  if (!p.peer) return;
  if (p.peer.uid === 0) {
    p.roles.add('admin');
    p.roleSources.set('admin', 'uid:0');
  } else if (p.peer.uid === ownUid) {
    p.roles.add('admin');
    p.roleSources.set('admin', `daemon-uid:${ownUid}`);
  }
}

export const defaultAuthorize: Authorize = (principal, permission, method) => {
  if (PUBLIC_PERMISSIONS.has(permission) || principal.roles.has('admin')) return undefined;
  const who = principal.peer ? `uid ${principal.peer.uid}` : principal.cert ? principal.cert.spiffeId : 'this peer';
  return flymeError('FLYME_PERMISSION_DENIED', `permission denied: ${method} requires permission "${permission}", which ${who} does not hold`, {
    permission,
    method,
  });
};
