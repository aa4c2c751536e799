/**
 * What `flyme policy check` and `flyme doctor` check in a policy file: what flymed checks when it loads one
 * (schema, then every token issuer's JWKS opened through auth/policy/issuer-keys.ts, the daemon's own code
 * path), plus warnings for a valid file that will not do what its author expects.
 */
import { emptyPrincipal } from '../auth/principal.js';
import { Policy } from '../auth/policy/index.js';
import { closeIssuerKeys, openIssuerKeys } from '../auth/policy/issuer-keys.js';

/** The binding root needs for the README's `sudo flyme kill/unlock/audit/reload-policy`. */
export const ROOT_ADMIN_BINDING = '- { uid: 0, roles: [admin] }';

export interface PolicyWarning { message: string; fix: string }
export interface PolicyCheck { policy: Policy; warnings: PolicyWarning[] }

/** Load a policy file as flymed does (throws FLYME_INVALID_CONFIG like the daemon would refuse it). */
export async function checkPolicy(path: string): Promise<PolicyCheck> {
  const policy = Policy.load(path);
  closeIssuerKeys(await openIssuerKeys(policy.issuers, { pollIntervalMs: 0 }));
  return { policy, warnings: policyWarnings(policy) };
}

/** Valid, but probably not what was meant. */
export function policyWarnings(policy: Policy): PolicyWarning[] {
  const all = (role: string) => {
    const p = emptyPrincipal('policy-check');
    p.roles.add(role);
    return policy.isAdmin(p);
  };
  const warnings: PolicyWarning[] = [];
  const adminBindings = (policy.document.bindings ?? []).filter((b) => b.roles.some(all));
  if (adminBindings.length === 0) {
    const byToken = policy.issuers.filter((i) => Object.values(i.subjects).some((roles) => roles.some(all))).map((i) => i.iss);
    warnings.push({
      message: 'no binding grants admin (or a role with "*") to anyone: with this file nobody, root included, may call kill, unlock, audit or '
        + 'reloadPolicy (the built-in policy made uid 0 admin; a policy file replaces it)'
        + (byToken.length ? `, except with a token from ${byToken.join(', ')}` : ''),
      fix: `add under bindings: ${ROOT_ADMIN_BINDING} (or start flymed with --admin-id SPIFFE_ID)`,
    });
  }
  return warnings;
}
