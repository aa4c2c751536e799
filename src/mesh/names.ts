/**
 * Names and addresses the registry accepts: DNS names inside the zone (lower case, letters, digits and
 * hyphens, labels of 1..63 bytes, no leading or trailing hyphen, at most 253 bytes), IPv4/IPv6 addresses in
 * canonical form, ports 1..65535.
 */
import { isIP } from 'node:net';
import { flymeError } from '../errors.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `name` (lower case, no trailing dot) is a syntactically valid host name. */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => LABEL.test(l));
}

/** Lower case, without one trailing dot. */
export const canonicalName = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();

/** True when `name` is the zone itself or below it. */
export const inZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

/** The zone from `--zone`, checked. */
export function parseZone(text: string): string {
  const z = canonicalName(text);
  if (!isDnsName(z)) throw flymeError('FLYME_INVALID_CONFIG', `zone "${text}" is not a DNS name (letters, digits, hyphens, dots)`);
  return z;
}

/**
 * A registrable name: a DNS name strictly below `zone`.
 * @throws FlyMeError FLYME_INVALID_PARAMS naming what is wrong.
 */
export function checkName(text: string, zone: string, field = 'name'): string {
  if (typeof text !== 'string' || text.length === 0) throw flymeError('FLYME_INVALID_PARAMS', `${field} is required`, { field });
  const n = canonicalName(text);
  if (!isDnsName(n)) throw flymeError('FLYME_INVALID_PARAMS', `${field} "${text.slice(0, 300)}" is not a DNS name (labels of 1-63 letters, digits or hyphens, at most 253 bytes)`, { field });
  if (n === zone || !inZone(n, zone)) throw flymeError('FLYME_INVALID_PARAMS', `${field} "${n}" is not inside the registry's zone ${zone}`, { field, zone });
  return n;
}

/** An IPv4 or IPv6 address, returned in canonical text form. */
export function checkAddress(text: string): string {
  if (typeof text !== 'string' || isIP(text) === 0) throw flymeError('FLYME_INVALID_PARAMS', `address "${String(text).slice(0, 100)}" is not an IPv4 or IPv6 address`, { field: 'address' });
  return new URL(`http://${isIP(text) === 6 ? `[${text}]` : text}/`).hostname.replace(/^\[|\]$/g, '');
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw flymeError('FLYME_INVALID_PARAMS', `port ${port} is not in 1-65535`, { field: 'port' });
  return port;
}
