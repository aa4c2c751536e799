/**
 * Translation of jose's error classes into FlyMe token error codes. Messages name what was
 * wrong and never include the token or key material.
 */
import { errors } from 'jose';
import { FlyMeError, flymeError } from '../../errors.js';

/**
 * Maps any error thrown while verifying a token to a FlyMeError (FlyMeErrors pass through).
 *
 * | jose error | FlyMe code |
 * |---|---|
 * | JWTExpired (exp, or iat too old) | FLYME_TOKEN_EXPIRED |
 * | JWTClaimValidationFailed on nbf/iat timing | FLYME_TOKEN_EXPIRED |
 * | JWTClaimValidationFailed on iss | FLYME_TOKEN_WRONG_ISSUER |
 * | JWTClaimValidationFailed on aud | FLYME_TOKEN_WRONG_AUDIENCE |
 * | other claim failures, JWSSignatureVerificationFailed, JOSEAlgNotAllowed, JWKSNoMatchingKey, JWSInvalid, JWTInvalid, … | FLYME_TOKEN_INVALID |
 *
 * @example
 * try { await jwtVerify(token, key) } catch (e) { throw mapJoseError(e) }
 */
export function mapJoseError(err: unknown): FlyMeError {
  if (err instanceof FlyMeError) return err;
  if (err instanceof errors.JWTExpired) {
    const claim = err.claim === 'iat' ? 'iat' : 'exp';
    return flymeError('FLYME_TOKEN_EXPIRED', claim === 'iat' ? 'the token is too old' : 'the token is expired', { claim, reason: 'expired' }, err);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = err;
    if (reason === 'missing') return flymeError('FLYME_TOKEN_INVALID', `the token has no "${claim}" claim`, { claim, reason }, err);
    if (claim === 'nbf') return flymeError('FLYME_TOKEN_EXPIRED', 'the token is not yet valid (nbf is in the future)', { claim, reason: 'not_yet_valid' }, err);
    if (claim === 'iat' && reason === 'check_failed') {
      return flymeError('FLYME_TOKEN_EXPIRED', 'the token is not yet valid (iat is in the future)', { claim, reason: 'not_yet_valid' }, err);
    }
    if (claim === 'iss' && reason === 'check_failed') return flymeError('FLYME_TOKEN_WRONG_ISSUER', 'the token issuer is not trusted', { claim }, err);
    if (claim === 'aud' && reason === 'check_failed') {
      return flymeError('FLYME_TOKEN_WRONG_AUDIENCE', 'the token is for another audience', { claim }, err);
    }
    return flymeError('FLYME_TOKEN_INVALID', `the token's "${claim}" is invalid`, { claim, reason }, err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return flymeError('FLYME_TOKEN_INVALID', 'the token signature does not verify', { reason: 'signature' }, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return flymeError('FLYME_TOKEN_INVALID', 'the token algorithm is not allowed', { claim: 'alg', reason: 'alg_not_allowed' }, err);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return flymeError('FLYME_TOKEN_INVALID', 'no single key matches the token\'s kid and algorithm', { claim: 'kid', reason: 'no_key' }, err);
  }
  if (err instanceof errors.JOSENotSupported) {
    return flymeError('FLYME_TOKEN_INVALID', 'the token uses an unsupported algorithm or header', { reason: 'not_supported' }, err);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSEError) {
    return flymeError('FLYME_TOKEN_INVALID', 'the token is malformed', { reason: 'malformed' }, err);
  }
  // jose throws TypeError for a malformed key/JWT input shape; anything else is also bad input here.
  return flymeError('FLYME_TOKEN_INVALID', 'the token could not be verified', { reason: 'malformed' }, err);
}

/**
 * Maps an error of fast-jwt's verifier (see signature-check.ts; it checks the signature and crit) to the
 * FlyMe error jose's equivalent got above. A code not listed still refuses the token (FLYME_TOKEN_INVALID).
 *
 * @example
 * try { verify(token) } catch (e) { throw mapFastJwtError(e) }
 */
export function mapFastJwtError(err: unknown): FlyMeError {
  if (err instanceof FlyMeError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  switch (code) {
    case 'FAST_JWT_INVALID_SIGNATURE':
    case 'FAST_JWT_VERIFY_ERROR':
      return flymeError('FLYME_TOKEN_INVALID', 'the token signature does not verify', { reason: 'signature' }, err);
    case 'FAST_JWT_INVALID_ALGORITHM':
      return flymeError('FLYME_TOKEN_INVALID', 'the token algorithm is not allowed', { claim: 'alg', reason: 'alg_not_allowed' }, err);
    case 'FAST_JWT_INVALID_CRIT_HEADER':
      // An extension it does not understand (jose: JOSENotSupported); a malformed crit list (jose: JWSInvalid).
      if (/is not supported/.test(message)) {
        return flymeError('FLYME_TOKEN_INVALID', 'the token uses an unsupported algorithm or header', { reason: 'not_supported' }, err);
      }
      return flymeError('FLYME_TOKEN_INVALID', 'the token is malformed', { reason: 'malformed' }, err);
    default:
      return flymeError('FLYME_TOKEN_INVALID', 'the token is malformed', { reason: 'malformed' }, err);
  }
}
