/** The `address` of a Connect request: `host:port` or `[v6]:port`, host an IP address or a DNS name. */
import { isIP } from 'node:net';
import { flymeError } from '../../errors.js';
import { canonicalName, isDnsName } from '../names.js';

export interface Target { host: string; port: number }

/**
 * @throws FlyMeError FLYME_INVALID_PARAMS naming what is wrong.
 */
export function parseTarget(text: string, field = 'address'): Target {
  const shown = text.slice(0, 300);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const bracketed = m?.[1];
  const host = bracketed ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host) throw flymeError('FLYME_INVALID_PARAMS', `${field} "${shown}" must be host:port or [IPv6]:port`, { field });
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw flymeError('FLYME_INVALID_PARAMS', `${field} "${shown}": port must be 1-65535`, { field });
  if (bracketed !== undefined && isIP(bracketed) !== 6) throw flymeError('FLYME_INVALID_PARAMS', `${field} "${shown}": [${bracketed.slice(0, 100)}] is not an IPv6 address`, { field });
  if (bracketed === undefined && isIP(host) === 0 && !isDnsName(canonicalName(host))) {
    throw flymeError('FLYME_INVALID_PARAMS', `${field} "${shown}": ${host.slice(0, 253)} is neither an IP address nor a DNS name`, { field });
  }
  return { host: isIP(host) ? host : canonicalName(host), port };
}

/** `tls://host:port` (brackets around IPv6) for dialTls. */
export const tlsUrl = (t: Target): string => `tls://${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;
export const showTarget = (t: Target): string => `${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;

/** The SNI of a Connect request: a DNS name (lower case, no trailing dot). */
export function parseSni(text: string): string {
  if (!text) throw flymeError('FLYME_INVALID_PARAMS', 'sni is required (the registered name of the peer, e.g. service-b.example.org)', { field: 'sni' });
  const n = canonicalName(text);
  if (!isDnsName(n)) throw flymeError('FLYME_INVALID_PARAMS', `sni "${text.slice(0, 300)}" is not a DNS name`, { field: 'sni' });
  return n;
}
