/**
 * The daemon's policy: roles at accept, the authorize hook, `reloadPolicy` (also SIGHUP and file changes),
 * token issuers from the policy, and roles of live connections re-evaluated on every reload.
 */
import { existsSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { SecurityEventSink } from '../auth/events.js';
import type { Principal } from '../auth/principal.js';
import { PolicyStore, type Policy, type TrustedIssuer } from '../auth/policy/index.js';
import { FlyMeError } from '../errors.js';
import type { RpcServer, ServerLogger } from '../rpc/server.js';
import { grantTokenRoles, type TokenAuthority } from './tokens.js';

export const DEFAULT_POLICY_PATH = '/etc/flyme/policy.yaml';

export interface DaemonPolicyOptions {
  /** `--policy`: must exist and validate. Absent: DEFAULT_POLICY_PATH if it exists, else the builtin policy. */
  path?: string;
  /** `--admin-id`: SPIFFE IDs that hold the admin role whatever the policy says. */
  adminIds: ReadonlySet<string>;
  /** The `--jwks/--token-issuer` shorthand, trusted alongside the policy's issuers. */
  flagIssuer?: TrustedIssuer;
  tokens: TokenAuthority;
  events: SecurityEventSink;
  log: ServerLogger;
}

export interface DaemonPolicy {
  store: PolicyStore;
  assignRoles(p: Principal): void;
  authorize(p: Principal, permission: string, method: string): FlyMeError | undefined;
  /** Reload now (SIGHUP, file change, reloadPolicy). Throws when refused; the old policy stays. */
  reload(trigger: string): Promise<Policy>;
  status(): Record<string, unknown>;
  close(): void;
}

export async function setupPolicy(server: RpcServer, o: DaemonPolicyOptions): Promise<DaemonPolicy> {
  const path = o.path ?? (existsSync(DEFAULT_POLICY_PATH) ? DEFAULT_POLICY_PATH : undefined);
  const store = await PolicyStore.open(path, { events: o.events });
  const issuersOf = (p: Policy) => [...p.issuers, ...(o.flagIssuer ? [o.flagIssuer] : [])];
  await o.tokens.configure(issuersOf(store.current));

  const assignRoles = (p: Principal) => {
    store.current.assignRoles(p);
    if (p.cert && o.adminIds.has(p.cert.spiffeId) && !p.roles.has('admin')) {
      p.roles.add('admin');
      p.roleSources.set('admin', `spiffe-id:${p.cert.spiffeId}`);
    }
  };
  const reassignLive = () => {
    for (const c of server.liveConnections) {
      const p = c.principal;
      p.roles.clear();
      p.roleSources.clear();
      assignRoles(p);
      if (p.token) grantTokenRoles(p, o.tokens.rolesFor(p.token).granted);
    }
  };

  // Every applied policy (reloadPolicy, SIGHUP, file change) brings token issuers and live connections along.
  store.onChange(async (next, _previous, trigger) => {
    try {
      await o.tokens.configure(issuersOf(next));
    } catch (e) {
      const err = e as FlyMeError;
      o.log.error({ event: 'token_issuers_reload_failed', code: err.code }, `policy applied, but its token issuers could not be loaded; keeping the previous issuers: ${err.message}`);
      o.events.emit({ kind: 'policy_reload_failed', severity: 'critical', source: 'flymed', subject: store.path ?? 'builtin', reason: err.code, message: `token issuers of the new policy refused, previous issuers kept: ${err.message}` });
    }
    reassignLive();
    o.log.info({ event: 'policy_reloaded', trigger, hash: next.info.hash, version: next.info.version }, 'policy reloaded');
  });

  server.method({
    name: 'reloadPolicy',
    permission: 'reloadPolicy',
    privileged: true,
    params: Type.Object({}, { additionalProperties: false }),
    handler: async () => {
      const before = store.current;
      const p = await store.reload('reloadPolicy');
      return { ...p.info, changed: p !== before };
    },
  });
  return {
    store,
    assignRoles,
    authorize: (p, permission, method) => store.current.authorize(p, permission, method),
    reload: (trigger) => store.reload(trigger),
    status: () => ({ ...store.current.info }),
    close: () => store.close(),
  };
}
