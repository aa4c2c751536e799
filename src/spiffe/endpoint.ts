/**
 * The Workload API endpoint address (`SPIFFE_ENDPOINT_SOCKET`): `unix:///absolute/path` (also `unix:/path`)
 * or `tcp://IP:port` (an IP literal, no host names). Anything else is refused, as go-spiffe does.
 */
import { flymeError } from '../errors.js';
import { isIP } from 'node:net';

export const ENDPOINT_ENV = 'SPIFFE_ENDPOINT_SOCKET';

/** Validates an endpoint address and returns the grpc-js target for it. */
export function endpointTarget(address: string): string {
  const bad = (why: string) => flymeError('FLYME_INVALID_ADDRESS', `invalid Workload API address "${address.slice(0, 200)}": ${why}`, { address: address.slice(0, 200) });
  if (address.startsWith('unix:')) {
    // Parsed as text, never decoded: a percent sign, NUL or dot segment is refused, not interpreted.
    const m = /^unix:(?:\/\/(?=\/))?(\/[^?#]*)$/.exec(address);
    if (!m) throw bad('use unix:///absolute/path (no host, query, fragment or relative path)');
    const path = m[1]!;
    if (path === '/' || path.endsWith('/')) throw bad('the socket path must name a file');
    if (/[%\0]/.test(path) || /(^|\/)\.\.?(\/|$)/.test(path) || path.includes('//')) throw bad('the socket path must be a plain absolute path (no %, NUL, // or dot segments)');
    return `unix://${path}`;
  }
  if (address.startsWith('tcp:')) {
    let u: URL;
    try {
      u = new URL(address);
    } catch {
      throw bad('not a URL (use tcp://IP:port)');
    }
    if (!address.startsWith('tcp://') || u.username || u.password || (u.pathname && u.pathname !== '/') || u.search || u.hash || address.endsWith('/')) throw bad('a tcp address has only IP:port');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) throw bad('the host must be an IP address');
    if (!u.port || Number(u.port) === 0) throw bad('a port (1-65535) is required');
    return `${u.hostname}:${u.port}`;
  }
  throw bad('the scheme must be unix or tcp');
}

/** The endpoint from the argument, else SPIFFE_ENDPOINT_SOCKET. */
export function endpointFrom(address?: string): string {
  const a = address ?? process.env[ENDPOINT_ENV];
  if (!a) throw flymeError('FLYME_INVALID_CONFIG', `no Workload API address: pass one or set ${ENDPOINT_ENV} (e.g. unix:///run/flyme/agent.sock)`);
  return a;
}
