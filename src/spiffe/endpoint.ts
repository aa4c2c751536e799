/**
 * The Workload API endpoint address (`SPIFFE_ENDPOINT_SOCKET`): `unix:///absolute/path` (also `unix:/path`)
 * or `tcp://IP:port` (an IP literal, no host names). Anything else is refused, as go-spiffe does.
 */
import { flymeError } from '../errors.js';
import { isIP } from 'node:net';

export const ENDPOINT_ENV = 'SPIFFE_ENDPOINT_SOCKET';

/** Validates an endpoint address and returns the grpc-js target for it. */
export function endpointTarget(address: string): string {
  const bad = (why: string) => flymeError('FLYME_INVALID_ADDRESS', `invalid Workload API address "${address}": ${why}`, { address });
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    throw bad('not a URL (use unix:///path or tcp://IP:port)');
  }
  if (u.protocol === 'unix:') {
    if (u.host || u.username || u.password || u.search || u.hash) throw bad('a unix address has only a path');
    if (!u.pathname.startsWith('/') || u.pathname === '/') throw bad('the socket path must be absolute');
    if (!address.startsWith('unix:/')) throw bad('opaque unix addresses are not allowed');
    return `unix://${decodeURIComponent(u.pathname)}`;
  }
  if (u.protocol === 'tcp:') {
    if (u.username || u.password || (u.pathname && u.pathname !== '/') || u.search || u.hash) throw bad('a tcp address has only IP:port');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) throw bad('the host must be an IP address');
    if (!u.port) throw bad('a port is required');
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
