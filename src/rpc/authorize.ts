/**
 * The authorize hook: decides per request whether a principal may call a method. Servers built on the
 * library decide with a policy (`RpcServerOptions.policy`, the same decision flymed makes: auth/decision.ts).
 * Without one nobody holds a role: every peer may call only the public methods (`whoami`, `authenticate`).
 * Admin by uid is flymed's builtin policy (`Policy.builtin()`), never a library default.
 */
import type { Principal } from '../auth/principal.js';
import type { FlyMeError } from '../errors.js';
import { decide, PUBLIC_PERMISSIONS, type RoleTable } from '../auth/decision.js';

export type Authorize = (principal: Principal, permission: string, method: string) => FlyMeError | undefined;

export { PUBLIC_PERMISSIONS };

/** A role table in which no role grants anything. */
const NO_ROLES: RoleTable = { roleGrants: () => false, rolesGranting: () => [] };

/** Deny by default: only public permissions, whatever the principal. */
export const publicOnlyAuthorize: Authorize = (principal, permission, method) => decide(NO_ROLES, principal, permission, method);
