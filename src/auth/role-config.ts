/**
 * Which roles each token issuer may grant to each service (token subject).
 * A token's `roles` claim is only a request: the effective roles are the claimed ones that
 * this configuration allows for the token's (iss, sub); everything else is ignored and reported.
 */
import { flymeError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.:@/-]{1,256}$/;
const ROLE = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Result of {@link RoleConfig.grantedRoles}. */
export interface GrantedRoles {
  /** Claimed roles the configuration allows (sorted, unique). */
  granted: string[];
  /** Claimed roles that were not granted: ignored, returned so callers can log them. */
  ignored: string[];
}

/** Plain-object form: `{ "<issuer>": { "<service (sub)>": ["role", ...] } }`. */
export type RoleConfigObject = Record<string, Record<string, string[]>>;

/**
 * Issuer → service (token `sub`) → allowed roles. Deny by default: no entry, no role.
 * There are no wildcards: each (issuer, service) pair is spelled out.
 *
 * @example
 * const roles = RoleConfig.fromObject({ flyme: { billing: ['reader', 'writer'] } })
 * roles.grantedRoles(['reader', 'admin'], 'flyme', 'billing')
 * // → { granted: ['reader'], ignored: ['admin'] }
 */
export class RoleConfig {
  readonly #grants = new Map<string, Map<string, Set<string>>>();
  #version = 0;

  /** Counts the changes made to this configuration (a decision remembered under another version is stale). */
  get version(): number {
    return this.#version;
  }

  /**
   * Builds a RoleConfig from a parsed policy section. Throws FLYME_INVALID_CONFIG naming the bad path.
   *
   * @example
   * RoleConfig.fromObject(JSON.parse(readFileSync('roles.json', 'utf8')))
   */
  static fromObject(obj: unknown): RoleConfig {
    const config = new RoleConfig();
    if (!isPlainObject(obj)) throw flymeError('FLYME_INVALID_CONFIG', 'role config must be an object of issuer → service → roles', { path: '' });
    for (const [iss, services] of Object.entries(obj)) {
      if (!isPlainObject(services)) {
        throw flymeError('FLYME_INVALID_CONFIG', `role config for issuer ${JSON.stringify(iss)} must be an object of service → roles`, { path: iss });
      }
      for (const [service, roles] of Object.entries(services)) {
        const path = `${iss}.${service}`;
        if (!Array.isArray(roles)) throw flymeError('FLYME_INVALID_CONFIG', `role config ${path} must be an array of role names`, { path });
        roles.forEach((role, i) => {
          if (typeof role !== 'string') throw flymeError('FLYME_INVALID_CONFIG', `role config ${path}[${i}] must be a string`, { path: `${path}[${i}]` });
          config.addRole(iss, service, role);
        });
      }
    }
    return config;
  }

  /**
   * Allows `issuer` to grant `role` to `service`. Throws FLYME_INVALID_CONFIG on bad names.
   *
   * @example
   * roles.addRole('flyme', 'billing', 'reader')
   */
  addRole(issuer: string, service: string, role: string): this {
    checkName('issuer', issuer, NAME);
    checkName('service', service, NAME);
    checkName('role', role, ROLE);
    let services = this.#grants.get(issuer);
    if (!services) this.#grants.set(issuer, (services = new Map()));
    let roles = services.get(service);
    if (!roles) services.set(service, (roles = new Set()));
    if (!roles.has(role)) {
      roles.add(role);
      this.#version++;
    }
    return this;
  }

  /**
   * True when `issuer` may grant `role` to `service`.
   *
   * @example
   * roles.hasRole('flyme', 'billing', 'writer') // → true
   */
  hasRole(issuer: string, service: string, role: string): boolean {
    return this.#grants.get(issuer)?.get(service)?.has(role) ?? false;
  }

  /**
   * Roles `issuer` may grant to `service`, sorted.
   *
   * @example
   * roles.rolesOf('flyme', 'billing') // → ['reader', 'writer']
   */
  rolesOf(issuer: string, service: string): string[] {
    return [...(this.#grants.get(issuer)?.get(service) ?? [])].sort();
  }

  /**
   * Claimed roles ∩ roles this config allows for (iss, sub). Never grants a role that was not claimed.
   *
   * @example
   * const { granted, ignored } = roles.grantedRoles(token.claimedRoles, token.iss, token.sub)
   * if (ignored.length) log.warn({ ignored }, 'token claimed roles it is not granted')
   */
  grantedRoles(claimed: readonly string[], iss: string, sub: string): GrantedRoles {
    const granted = new Set<string>();
    const ignored = new Set<string>();
    for (const role of claimed) (typeof role === 'string' && this.hasRole(iss, sub, role) ? granted : ignored).add(String(role));
    return { granted: [...granted].sort(), ignored: [...ignored].sort() };
  }

  /**
   * Plain-object form (round-trips through {@link RoleConfig.fromObject}).
   *
   * @example
   * JSON.stringify(roles.toObject())
   */
  toObject(): RoleConfigObject {
    const out: RoleConfigObject = {};
    for (const [iss, services] of this.#grants) {
      const entry: Record<string, string[]> = {};
      for (const [service, roles] of services) entry[service] = [...roles].sort();
      out[iss] = entry;
    }
    return out;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkName(what: string, value: string, re: RegExp): void {
  if (typeof value !== 'string' || !re.test(value) || value === '__proto__') {
    throw flymeError('FLYME_INVALID_CONFIG', `invalid ${what} name ${JSON.stringify(String(value).slice(0, 64))} in role config`, { [what]: String(value).slice(0, 64) });
  }
}
