/**
 * The daemon's policy: roles at accept, the authorize hook, `reloadPolicy` (also SIGHUP and file changes),
 * token issuers from the policy, and roles of live connections re-evaluated on every reload.
 */
import { existsSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { SecurityEventSink } from '../auth/events.js';
import { revokeTokenRoles } from '../auth/decision.js';
import type { Principal, TokenIdentity } from '../auth/principal.js';
import type { Policy } from '../auth/policy/policy.js';
import type { TrustedIssuer } from '../auth/policy/schema.js';
import { PolicyStore } from '../auth/policy/store.js';
import type { FlyMeError } from '../errors.js';
import type { RpcServer, ServerLogger } from '../rpc/server.js';
import { grantTokenRoles, type StagedIssuers, type TokenAuthority } from './tokens.js';

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
  const issuersOf = (p: Policy) => [...p.issuers, ...(o.flagIssuer ? [o.flagIssuer] : [])];
  // A policy's token issuers are opened before the policy is applied: if any fails, the whole file is
  // refused and the old policy (with its issuers) stays.
  const staged = new WeakMap<Policy, StagedIssuers>();
  let opened: PolicyStore | undefined; // unset while the first file is prepared
  const store = (opened = await PolicyStore.open(path, {
    events: o.events,
    prepare: async (p) => {
      if (opened && p.info.hash === opened.current.info.hash) return; // unchanged: nothing is applied
      staged.set(p, await o.tokens.stage(issuersOf(p)));
    },
  }));
  const initial = staged.get(store.current);
  if (initial) o.tokens.commit(initial);
  else await o.tokens.configure(issuersOf(store.current)); // the builtin policy (flag issuer only)

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
      // A token the new policy no longer honours (issuer gone, audience changed) loses its roles with the reason.
      const bad = p.token ? o.tokens.check(p.token) : undefined;
      if (bad) revokeTokenRoles(p, bad);
      p.roles.clear();
      p.roleSources.clear();
      assignRoles(p);
      if (p.token) grantTokenRoles(p, o.tokens.rolesFor(p.token).granted);
    }
  };

  // Every applied policy (reloadPolicy, SIGHUP, file change) brings its token issuers and live connections along.
  store.onChange((next, _previous, trigger) => {
    const s = staged.get(next);
    if (s) o.tokens.commit(s);
    reassignLive();
    o.log.info({ event: 'policy_reloaded', trigger, hash: next.info.hash, version: next.info.version }, 'policy reloaded');
  });
  const checkToken = (t: TokenIdentity, now: number) => o.tokens.check(t, now);

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
    // The one decision (auth/decision.ts), with token roles ending when their token stops being valid.
    authorize: (p, permission, method) => store.current.authorize(p, permission, method, { checkToken }),
    reload: (trigger) => store.reload(trigger),
    status: () => ({ ...store.current.info }),
    close: () => store.close(),
  };
}
