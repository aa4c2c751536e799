/**
 * Listen/dial addresses are URLs:
 *   unix:///abs/path        Unix socket file (kernel peer credentials)
 *   unix://@name            Linux abstract socket (no file permissions!)
 *   tcp://127.0.0.1:7000    TCP (no peer credentials)
 *   unix+tls:///abs/path    Unix socket + mutual TLS 1.3
 *   unix+tls://@name        abstract socket + mutual TLS 1.3
 *   tls://host:port         TCP + mutual TLS 1.3
 */
import { isIPv6 } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { flymeError } from '../errors.js';

export type Address =
  | { kind: 'unix'; path: string; tls: boolean; url: string }
  | { kind: 'abstract'; name: string; tls: boolean; url: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean; url: string };

const MAX_UNIX_PATH = 107; // sun_path is 108 bytes including the NUL

export function parseAddress(url: string): Address {
  const bad = (why: string) => flymeError('FLYME_INVALID_ADDRESS', `invalid address "${url}": ${why}`, { address: url });
  const m = /^([a-z+]+):\/\/(.*)$/.exec(url);
  if (!m) throw bad('expected unix:///path, unix://@name, tcp://host:port, unix+tls:///path or tls://host:port');
  const scheme = m[1]!;
  const rest = m[2]!;
  if (scheme === 'unix' || scheme === 'unix+tls') {
    const tls = scheme === 'unix+tls';
    if (rest.startsWith('@')) {
      const name = rest.slice(1);
      if (name.length === 0 || Buffer.byteLength(name) > MAX_UNIX_PATH - 1) throw bad('abstract name must be 1-106 bytes');
      if (process.platform !== 'linux') throw bad('abstract sockets exist only on Linux');
      return { kind: 'abstract', name, tls, url };
    }
    if (!isAbsolute(rest)) throw bad('the socket path must be absolute (unix:///run/flyme/flyme.sock)');
    if (rest.includes('\0')) throw bad('the socket path contains a NUL byte');
    const path = normalize(rest);
    if (Buffer.byteLength(path) > MAX_UNIX_PATH) throw bad(`the socket path is longer than ${MAX_UNIX_PATH} bytes`);
    return { kind: 'unix', path, tls, url };
  }
  if (scheme === 'tcp' || scheme === 'tls') {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(rest);
    if (!hp) throw bad('expected host:port');
    const port = Number(hp[2]);
    if (port > 65535) throw bad('port out of range');
    const host = hp[1]!.startsWith('[') ? hp[1]!.slice(1, -1) : hp[1]!;
    return { kind: 'tcp', host, port, tls: scheme === 'tls', url };
  }
  throw bad(`unsupported scheme "${scheme}"`);
}

/**
 * Whether a host is a loopback IP literal: 127.0.0.0/8, ::1, or IPv4-mapped ::ffff:127.x.y.z (and the
 * name `localhost`, which Node binds to one of those). Host names are not resolved: anything else is false.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && Number(v4[1]) === 127;
  if (isIPv6(h)) {
    // ::1 in any spelling (0:0:0:0:0:0:0:1, ::0001)
    const groups = expandIPv6(h);
    return groups !== undefined && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
  }
  return false;
}

function expandIPv6(h: string): number[] | undefined {
  if (h.includes('.')) return undefined; // embedded IPv4 other than the ::ffff: form above is not loopback
  const [head, tail] = h.split('::') as [string, string | undefined];
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const a = part(head);
  const b = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? 0 : 8 - a.length - b.length;
  const all = [...a, ...new Array<number>(Math.max(fill, 0)).fill(0), ...b];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined;
}

/**
 * Refuses an address no server should listen on: plain tcp:// beyond loopback, where a peer has no identity
 * at all (no kernel credentials, no certificate). Throws FLYME_INVALID_ADDRESS naming the alternative.
 */
export function checkListenAddress(a: Address): void {
  if (a.kind !== 'tcp' || a.tls || isLoopbackHost(a.host)) return;
  const hostPort = `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  throw flymeError('FLYME_INVALID_ADDRESS',
    `refusing to listen on ${a.url}: plain tcp:// gives peers no identity (no kernel credentials, no certificate), so it may listen only on loopback (127.0.0.0/8 or ::1); use tls://${hostPort} (mutual TLS) for other addresses`,
    { address: a.url });
}

/** The argument Node's net.connect / server.listen take for a Unix address. */
export function unixSocketPath(a: Address & { kind: 'unix' | 'abstract' }): string {
  return a.kind === 'unix' ? a.path : `\0${a.name}`;
}

export function formatAddress(a: Address): string {
  return a.url;
}
