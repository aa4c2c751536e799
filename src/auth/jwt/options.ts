/**
 * Validation of numeric and text options shared by the issuer and verifier: NaN, Infinity,
 * negatives and empty strings are refused at configuration, never silently turned off.
 */
import { flymeError } from '../../errors.js';

/**
 * A finite, non-negative number of seconds. Throws FLYME_INVALID_CONFIG.
 *
 * @example
 * checkSeconds(30, 'clockSkewSeconds') // → 30
 */
export function checkSeconds(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw flymeError('FLYME_INVALID_CONFIG', `${name} must be a finite number of seconds >= 0`, { option: name });
  }
  return value;
}

/**
 * A non-empty string of at most 1024 characters. Throws FLYME_INVALID_CONFIG.
 *
 * @example
 * checkText('flyme', 'issuer') // → 'flyme'
 */
export function checkText(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw flymeError('FLYME_INVALID_CONFIG', `${name} must be a non-empty string`, { option: name });
  }
  return value;
}
