/**
 * TokenIssuer: signs FlyMe tokens with jose's SignJWT. Every token carries iss, sub, aud,
 * exp, iat, nbf and a random jti, the `kid` of the signing key, `typ: JWT`, and optionally
 * roles, the one-time flag and an RFC 8705 certificate binding.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { flymeError } from '../../errors.js';
import { certificateThumbprint } from '../thumbprint.js';
import { checkAlgorithms, checkHmacSecret } from './algorithms.js';
import { ONE_TIME_CLAIM } from './claims.js';
import { checkSeconds, checkText } from './options.js';
import { importSigningKey, type SigningKey } from './signing-key.js';

/** Options for {@link TokenIssuer.create}. */
export interface TokenIssuerOptions {
  /** A private JWK (EC P-256 / OKP Ed25519 with `d`, or an oct HS256 secret of 32+ bytes), with `kid`; or an imported key. */
  key: unknown;
  /** `iss` of every token (default `flyme`). */
  issuer?: string;
  /** Longest ttl the issuer will sign, in seconds (default 3600, matching the verifier default). */
  maxLifetimeSeconds?: number;
  /** Claim that carries the roles (default `roles`). */
  rolesClaim?: string;
  /** Clock (tests freeze it). Default `() => new Date()`. */
  clock?: () => Date;
}

/** What one token says. */
export interface IssueOptions {
  sub: string;
  aud: string | string[];
  roles?: readonly string[];
  /** Lifetime in seconds (default 900). */
  ttlSeconds?: number;
  /** Mark the token single-use (`flyme_one_time: true`). */
  oneTime?: boolean;
  /** Bind to this client certificate (DER): adds `cnf: {"x5t#S256": …}`. */
  bindCertDer?: Uint8Array;
  /** Override the random jti (tests). */
  jti?: string;
}

/**
 * Issues tokens with one signing key.
 *
 * @example
 * const issuer = await TokenIssuer.create({ key: JSON.parse(readFileSync('k1.private.jwk.json', 'utf8')) })
 * const token = await issuer.issue({ sub: 'billing', aud: 'flymed', roles: ['reader'], ttlSeconds: 900 })
 */
export class TokenIssuer {
  readonly issuer: string;
  readonly kid: string;
  readonly alg: SigningKey['alg'];
  readonly maxLifetimeSeconds: number;
  readonly rolesClaim: string;
  readonly #key: SigningKey;
  readonly #clock: () => Date;

  private constructor(key: SigningKey, options: TokenIssuerOptions) {
    this.#key = key;
    this.kid = key.kid;
    this.alg = key.alg;
    this.issuer = checkText(options.issuer ?? 'flyme', 'issuer');
    this.maxLifetimeSeconds = checkSeconds(options.maxLifetimeSeconds ?? 3600, 'maxLifetimeSeconds');
    this.rolesClaim = checkText(options.rolesClaim ?? 'roles', 'rolesClaim');
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * Imports the key and validates the options. Throws FLYME_INVALID_CONFIG (e.g. an HS256 secret under 32 bytes).
   *
   * @example
   * const issuer = await TokenIssuer.create({ key: privateJwk, issuer: 'ci' })
   */
  static async create(options: TokenIssuerOptions): Promise<TokenIssuer> {
    const key = isSigningKey(options.key) ? options.key : await importSigningKey(options.key);
    checkAlgorithms([key.alg]);
    if (key.alg === 'HS256') checkHmacSecret(key.key as Uint8Array);
    return new TokenIssuer(key, options);
  }

  /**
   * Signs a compact JWT.
   *
   * @example
   * await issuer.issue({ sub: 'deploy-bot', aud: 'flymed', oneTime: true, ttlSeconds: 60 })
   */
  async issue(options: IssueOptions): Promise<string> {
    const ttl = checkSeconds(options.ttlSeconds ?? 900, 'ttlSeconds');
    if (ttl === 0 || ttl > this.maxLifetimeSeconds) {
      throw flymeError('FLYME_INVALID_CONFIG', `ttl must be between 1 and ${this.maxLifetimeSeconds} seconds`, { option: 'ttlSeconds' });
    }
    const sub = checkText(options.sub, 'sub');
    const aud = typeof options.aud === 'string' ? checkText(options.aud, 'aud') : options.aud.map((a) => checkText(a, 'aud'));
    if (Array.isArray(aud) && aud.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'aud must name at least one audience');
    const now = Math.floor(this.#clock().getTime() / 1000);
    const claims: Record<string, unknown> = {};
    if (options.roles !== undefined) claims[this.rolesClaim] = options.roles.map((r) => checkText(r, 'role'));
    if (options.oneTime) claims[ONE_TIME_CLAIM] = true;
    if (options.bindCertDer !== undefined) claims['cnf'] = { 'x5t#S256': certificateThumbprint(options.bindCertDer) };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(sub)
      .setAudience(aud)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(options.jti ?? randomUUID())
      .sign(this.#key.key);
  }
}

function isSigningKey(value: unknown): value is SigningKey {
  const v = value as Partial<SigningKey> | null;
  return typeof v === 'object' && v !== null && typeof v.kid === 'string' && typeof v.alg === 'string' && v.key !== undefined && !('kty' in v);
}
