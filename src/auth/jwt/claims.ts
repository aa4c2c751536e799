/**
 * FlyMe's own checks on a token, on top of jose's: forbidden headers, claim types,
 * maximum lifetime, the roles claim, the one-time flag and the `cnf` binding.
 * Internal to src/auth/jwt; the verifier calls these after jose has checked the signature.
 */
import type { JWSHeaderParameters, JWTPayload } from 'jose';
import { flymeError } from '../../errors.js';
import type { TokenIdentity } from '../principal.js';

/** Claim that marks a token as single-use. */
export const ONE_TIME_CLAIM = 'flyme_one_time';
/** Claims every token must carry. */
export const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'] as const;

// Headers that could make a verifier fetch or trust key material named by the token itself (RFC 8725 §3.10).
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'cty', 'zip', 'enc'];
const MAX_ROLES = 64;

/** Refuses headers FlyMe never accepts; `typ`, when present, must be JWT. */
export function checkHeader(header: JWSHeaderParameters): void {
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) throw invalid(`the token header carries "${name}", which FlyMe never accepts`, name);
  }
  const typ = header.typ;
  if (typ !== undefined && (typeof typ !== 'string' || !['jwt', 'application/jwt'].includes(typ.toLowerCase()))) {
    throw invalid('the token header "typ" is not JWT', 'typ');
  }
}

/** What {@link checkClaims} extracts from a verified payload. */
export interface CheckedClaims {
  identity: TokenIdentity;
  oneTime: boolean;
  /** `cnf["x5t#S256"]` when the token is certificate-bound. */
  boundThumbprint?: string;
}

/** Type checks, lifetime and roles. Assumes jose already enforced presence, exp, nbf, iss and aud. */
export function checkClaims(payload: JWTPayload, rolesClaim: string, maxLifetimeSeconds: number): CheckedClaims {
  const iss = boundedString(payload.iss, 'iss', 1024);
  const sub = boundedString(payload.sub, 'sub', 1024);
  const jti = boundedString(payload.jti, 'jti', 256);
  const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
  if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === 'string')) throw invalid('the token "aud" must be a string or a non-empty array of strings', 'aud');
  const { exp, iat } = payload;
  if (typeof exp !== 'number' || typeof iat !== 'number') throw invalid('the token "exp" and "iat" must be numbers', typeof exp !== 'number' ? 'exp' : 'iat');
  if (exp - iat > maxLifetimeSeconds) {
    throw flymeError('FLYME_TOKEN_EXPIRED', `the token lives longer than the allowed maximum of ${maxLifetimeSeconds} s`, {
      claim: 'exp',
      reason: 'lifetime',
      maxLifetimeSeconds,
    });
  }
  const claimedRoles = rolesOf(payload[rolesClaim], rolesClaim);
  const flag = payload[ONE_TIME_CLAIM];
  if (flag !== undefined && typeof flag !== 'boolean') throw invalid(`the token "${ONE_TIME_CLAIM}" must be a boolean`, ONE_TIME_CLAIM);
  const boundThumbprint = thumbprintOf(payload.cnf);
  return {
    identity: { iss, sub, aud: [...aud], exp, jti, claimedRoles },
    oneTime: flag === true,
    ...(boundThumbprint !== undefined ? { boundThumbprint } : {}),
  };
}

function rolesOf(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ROLES || !value.every((r) => typeof r === 'string' && r.length > 0 && r.length <= 128)) {
    throw invalid(`the token "${claim}" must be an array of at most ${MAX_ROLES} role names`, claim);
  }
  return [...new Set(value as string[])];
}

function thumbprintOf(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw invalid('the token "cnf" must be an object', 'cnf');
  const keys = Object.keys(cnf);
  const tp = (cnf as Record<string, unknown>)['x5t#S256'];
  if (keys.length !== 1 || typeof tp !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(tp)) {
    throw invalid('the token "cnf" must hold exactly one "x5t#S256" certificate thumbprint', 'cnf');
  }
  return tp;
}

function boundedString(value: unknown, claim: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(`the token "${claim}" must be a non-empty string of at most ${max} characters`, claim);
  }
  return value;
}

function invalid(message: string, claim: string) {
  return flymeError('FLYME_TOKEN_INVALID', message, { claim });
}
