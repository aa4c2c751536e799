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

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses `30s`, `15m`, `1h`, `2d` (or a bare number of seconds) into seconds.
 * Throws FLYME_INVALID_CONFIG for anything else.
 *
 * @example
 * parseDuration('15m') // → 900
 */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(typeof text === 'string' ? text.trim() : '');
  if (!m) throw flymeError('FLYME_INVALID_CONFIG', `invalid duration ${JSON.stringify(String(text).slice(0, 32))} (use e.g. 30s, 15m, 1h)`);
  return Number(m[1]) * (UNITS[m[2] || 's'] ?? 1);
}
