/**
 * The daemon's `authenticate {token}` method. Trusted issuers come from the policy file (`issuers:`) and,
 * as a one-issuer shorthand, from `--jwks/--token-issuer/--token-audience/--token-roles`. A verified token
 * adds its subject and the roles the issuer's `subjects` map allows (claimed ∩ allowed) to the principal.
 */
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { decodeJwt } from 'jose';
import { describePrincipal, type Principal, type TokenIdentity } from '../auth/principal.js';
import { JwksFileSource } from '../auth/jwt/jwks-source.js';
import { TokenVerifier } from '../auth/jwt/verifier.js';
import type { TrustedIssuer } from '../auth/policy/schema.js';
import { ReplayCache } from '../auth/replay-cache.js';
import { RoleConfig } from '../auth/role-config.js';
import { openIssuerKeys } from '../auth/policy/issuer-keys.js';
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

/** Issuers opened by {@link TokenAuthority.stage}, not yet in use. */
export interface StagedIssuers { readonly issuers: ReadonlyMap<string, LiveIssuer> }

/** Trusted issuers, swappable on policy reload. One replay cache for all of them. */
export class TokenAuthority {
  #issuers: ReadonlyMap<string, LiveIssuer> = new Map<string, LiveIssuer>();
  readonly #replay = new ReplayCache();
  /** Which key verified each token identity this authority handed out (for {@link check}). */
  readonly #grants = new WeakMap<TokenIdentity, { kid: string; keyFingerprint?: string }>();

  constructor(private readonly log: ServerLogger) {}

  get size(): number {
    return this.#issuers.size;
  }

  /** Open every issuer's JWKS (reloaded on change); on failure the previous set stays. */
  async configure(configs: readonly TrustedIssuer[]): Promise<void> {
    this.commit(await this.stage(configs));
  }

  /**
   * Open every issuer's JWKS without using them yet (a policy reload stages its issuers before the policy is
   * applied, so a policy whose issuers fail to load is refused as a whole). Throws, opening nothing, on failure.
   */
  async stage(configs: readonly TrustedIssuer[]): Promise<StagedIssuers> {
    // The same opening `flyme policy check` does (auth/policy/issuer-keys.ts).
    const opened = await openIssuerKeys(configs, {
      onReload: (iss, kids) => this.log.info({ event: 'jwks_reloaded', iss, kids }, 'token keys reloaded'),
      onInvalid: (iss, e) => this.log.error({ event: 'jwks_reload_failed', iss, code: e.code }, `token keys reload refused, keeping the old set: ${e.message}`),
    });
    const next = new Map<string, LiveIssuer>();
    for (const { config, algorithms, keys } of opened.values()) {
      next.set(config.iss, {
        config, keys,
        verifier: new TokenVerifier({ keys, audience: config.audience, issuer: config.iss, algorithms, replayCache: this.#replay, ...(config.rolesClaim ? { rolesClaim: config.rolesClaim } : {}) }),
        roles: RoleConfig.fromObject({ [config.iss]: config.subjects }),
      });
    }
    return { issuers: next };
  }

  /** Use staged issuers from now on; the previous ones are closed. */
  commit(staged: StagedIssuers): void {
    const old = this.#issuers;
    this.#issuers = staged.issuers;
    if (old !== staged.issuers) for (const i of old.values()) i.keys.close();
  }

  close(): void {
    for (const i of this.#issuers.values()) i.keys.close();
    this.#issuers = new Map();
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
    const max = issuer.config.maxRoles;
    const v = await issuer.verifier.verify(token, {
      ...ctx,
      // Checked before the verifier records the jti: a refused token is not spent.
      check: (identity) => {
        if (max !== undefined && identity.claimedRoles.length > max) {
          throw flymeError('FLYME_TOKEN_INVALID', `the token claims ${identity.claimedRoles.length} roles; issuer ${issuer.config.iss} allows at most ${max}`);
        }
      },
    });
    this.#grants.set(v.identity, { kid: v.kid, ...(v.keyFingerprint !== undefined ? { keyFingerprint: v.keyFingerprint } : {}) });
    return { identity: v.identity, ...this.rolesFor(v.identity) };
  }

  /**
   * Is a token this authority verified still good now? Its roles last only while it is unexpired, its issuer
   * is still trusted with the same audience, and the key that signed it is still in the issuer's JWKS,
   * unchanged. Returns the reason it is not (a FLYME_TOKEN_* error), or undefined.
   */
  check(t: TokenIdentity, now = Date.now()): FlyMeError | undefined {
    const who = `the token of ${t.sub} (issuer ${t.iss})`;
    if (now >= t.exp * 1000) {
      return flymeError('FLYME_TOKEN_EXPIRED', `${who} expired at ${new Date(t.exp * 1000).toISOString()}; present a new one (authenticate)`, { claim: 'exp' });
    }
    const issuer = this.#issuers.get(t.iss);
    if (!issuer) return flymeError('FLYME_TOKEN_WRONG_ISSUER', `${who} is no longer valid: its issuer is not trusted any more (policy reloaded)`, { claim: 'iss' });
    if (!t.aud.includes(issuer.config.audience)) {
      return flymeError('FLYME_TOKEN_WRONG_AUDIENCE', `${who} is no longer valid: the issuer's audience is now ${issuer.config.audience}`, { claim: 'aud' });
    }
    const grant = this.#grants.get(t);
    const fp = grant ? issuer.keys.current().keyFingerprint(grant.kid) : undefined;
    if (!grant || fp === undefined || fp !== grant.keyFingerprint) {
      return flymeError('FLYME_TOKEN_INVALID', `${who} is no longer valid: the key that signed it${grant ? ` (kid ${grant.kid})` : ''} is no longer in the issuer's JWKS`, { claim: 'kid' });
    }
    return undefined;
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
  const verifying = new WeakSet<Principal>();
  server.method({
    name: 'authenticate',
    permission: 'authenticate',
    params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }),
    handler: async ({ token }, ctx) => {
      const p = ctx.principal;
      if (p.token) throw flymeError('FLYME_INVALID_REQUEST', 'this connection already presented a token; open a new connection for another');
      // One verification at a time per connection: a second authenticate racing the first is refused, so two
      // tokens can never both pass and stack their roles.
      if (verifying.has(p)) throw flymeError('FLYME_INVALID_REQUEST', 'a token is already being verified on this connection');
      if (authority.size === 0) throw flymeError('FLYME_TOKEN_WRONG_ISSUER', 'this daemon trusts no token issuer (policy issuers or --jwks/--token-issuer)');
      verifying.add(p);
      let v: Awaited<ReturnType<TokenAuthority['verify']>>;
      try {
        v = await authority.verify(token, {
          connectionId: `${instance}-${ctx.connectionId}`,
          ...(ctx.clientCertDer ? { clientCertDer: ctx.clientCertDer } : {}),
        });
      } catch (e) {
        if (e instanceof FlyMeError) {
          events.emit({ kind: 'token_refused', severity: 'warning', source: 'flymed', message: e.message, principal: describePrincipal(p), subject: 'authenticate', decision: 'deny', reason: e.code });
        }
        throw e;
      } finally {
        verifying.delete(p);
      }
      if (ctx.connection.closed) throw flymeError('FLYME_INVALID_REQUEST', 'the connection closed while its token was verified');
      if (v.ignored.length > 0) log.warn({ event: 'roles_ignored', iss: v.identity.iss, sub: v.identity.sub, ignored: v.ignored }, 'token claimed roles the role map does not grant; ignored');
      p.token = v.identity;
      delete p.tokenLost;
      grantTokenRoles(p, v.granted);
      log.info({ event: 'authenticated', sub: v.identity.sub, iss: v.identity.iss, roles: v.granted }, 'token accepted');
      return describePrincipal(p);
    },
  });
}
