/**
 * The daemon's `authenticate {token}` method. Trusted issuers come from the policy file (`issuers:`) and,
 * as a one-issuer shorthand, from `--jwks/--token-issuer/--token-audience/--token-roles`. A verified token
 * adds its subject and the roles the issuer's `subjects` map allows (claimed ∩ allowed) to the principal.
 */
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { decodeJwt } from 'jose';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { JwksFileSource, RoleConfig, TokenVerifier, ReplayCache } from '../auth/index.js';
import type { TrustedIssuer } from '../auth/policy/index.js';
import { flymeError, FlyMeError } from '../errors.js';
import type { SecurityEventSink } from '../auth/events.js';
import type { RpcServer, ServerLogger } from '../rpc/server.js';

export interface FlagIssuerOptions {
  jwksPath: string;
  issuer: string;
  audience: string;
  rolesPath?: string;
}

/** The flag shorthand as a policy-style issuer entry. */
export function issuerFromFlags(o: FlagIssuerOptions): TrustedIssuer {
  const subjects: Record<string, string[]> = {};
  if (o.rolesPath) {
    const all = RoleConfig.fromObject(JSON.parse(readFileSync(o.rolesPath, 'utf8'))).toObject();
    Object.assign(subjects, all[o.issuer] ?? {});
  }
  return { iss: o.issuer, jwks: o.jwksPath, audience: o.audience, subjects };
}

interface LiveIssuer {
  config: TrustedIssuer;
  keys: JwksFileSource;
  verifier: TokenVerifier;
  roles: RoleConfig;
}

/** Trusted issuers, swappable on policy reload. One replay cache for all of them. */
export class TokenAuthority {
  #issuers = new Map<string, LiveIssuer>();
  readonly #replay = new ReplayCache();

  constructor(private readonly log: ServerLogger) {}

  get size(): number {
    return this.#issuers.size;
  }

  /** Open every issuer's JWKS (reloaded on change); on failure the previous set stays. */
  async configure(configs: readonly TrustedIssuer[]): Promise<void> {
    const seen = new Set<string>();
    for (const c of configs) {
      if (seen.has(c.iss)) throw flymeError('FLYME_INVALID_CONFIG', `token issuer "${c.iss}" is configured twice (policy issuers and --token-issuer)`);
      seen.add(c.iss);
    }
    const next = new Map<string, LiveIssuer>();
    try {
      for (const config of configs) {
        const algorithms = config.algorithms ?? ['ES256', 'EdDSA'];
        const keys = await JwksFileSource.open(config.jwks, {
          algorithms,
          onReload: (kids) => this.log.info({ event: 'jwks_reloaded', iss: config.iss, kids }, 'token keys reloaded'),
          onInvalid: (e) => this.log.error({ event: 'jwks_reload_failed', iss: config.iss, code: e.code }, `token keys reload refused, keeping the old set: ${e.message}`),
        });
        next.set(config.iss, {
          config, keys,
          verifier: new TokenVerifier({ keys, audience: config.audience, issuer: config.iss, algorithms, replayCache: this.#replay, ...(config.rolesClaim ? { rolesClaim: config.rolesClaim } : {}) }),
          roles: RoleConfig.fromObject({ [config.iss]: config.subjects }),
        });
      }
    } catch (e) {
      for (const i of next.values()) i.keys.close();
      throw e;
    }
    const old = this.#issuers;
    this.#issuers = next;
    for (const i of old.values()) i.keys.close();
  }

  close(): void {
    for (const i of this.#issuers.values()) i.keys.close();
    this.#issuers.clear();
  }

  /** Verify a token from any trusted issuer; returns its identity and the roles to grant. */
  async verify(token: string, ctx: { connectionId: string; clientCertDer?: Uint8Array }) {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw flymeError('FLYME_TOKEN_INVALID', 'the token is not a well-formed JWT');
    }
    const issuer = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (!issuer) throw flymeError('FLYME_TOKEN_WRONG_ISSUER', `tokens from issuer ${JSON.stringify(String(iss).slice(0, 200))} are not trusted here`);
    const v = await issuer.verifier.verify(token, ctx);
    const max = issuer.config.maxRoles;
    if (max !== undefined && v.identity.claimedRoles.length > max) {
      throw flymeError('FLYME_TOKEN_INVALID', `the token claims ${v.identity.claimedRoles.length} roles; issuer ${issuer.config.iss} allows at most ${max}`);
    }
    return { identity: v.identity, ...this.rolesFor(v.identity) };
  }

  /** Roles a token identity may hold under the current issuers (re-evaluated on policy reload). */
  rolesFor(t: { iss: string; sub: string; claimedRoles: string[] }): { granted: string[]; ignored: string[] } {
    const issuer = this.#issuers.get(t.iss);
    if (!issuer) return { granted: [], ignored: [...t.claimedRoles] };
    return issuer.roles.grantedRoles(t.claimedRoles, t.iss, t.sub);
  }
}

/** Give a principal the roles its (already verified) token may hold now. */
export function grantTokenRoles(p: Principal, granted: readonly string[]): void {
  if (!p.token) return;
  for (const r of granted) {
    p.roles.add(r);
    if (!p.roleSources.has(r)) p.roleSources.set(r, `token:${p.token.iss}/${p.token.sub}`);
  }
}

export function registerAuthenticate(server: RpcServer, authority: TokenAuthority, log: ServerLogger, events: SecurityEventSink): void {
  const instance = `${process.pid}-${Date.now()}`;
  server.method({
    name: 'authenticate',
    permission: 'authenticate',
    params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }),
    handler: async ({ token }, ctx) => {
      const p = ctx.principal;
      if (p.token) throw flymeError('FLYME_INVALID_REQUEST', 'this connection already presented a token; open a new connection for another');
      if (authority.size === 0) throw flymeError('FLYME_TOKEN_WRONG_ISSUER', 'this daemon trusts no token issuer (policy issuers or --jwks/--token-issuer)');
      const v = await authority.verify(token, {
        connectionId: `${instance}-${ctx.connectionId}`,
        ...(ctx.clientCertDer ? { clientCertDer: ctx.clientCertDer } : {}),
      }).catch((e: unknown) => {
        if (e instanceof FlyMeError) {
          events.emit({ kind: 'token_refused', severity: 'warning', source: 'flymed', message: e.message, principal: describePrincipal(p), subject: 'authenticate', decision: 'deny', reason: e.code });
        }
        throw e;
      });
      if (v.ignored.length > 0) log.warn({ event: 'roles_ignored', iss: v.identity.iss, sub: v.identity.sub, ignored: v.ignored }, 'token claimed roles the role map does not grant; ignored');
      p.token = v.identity;
      grantTokenRoles(p, v.granted);
      log.info({ event: 'authenticated', sub: v.identity.sub, iss: v.identity.iss, roles: v.granted }, 'token accepted');
      return describePrincipal(p);
    },
  });
}
