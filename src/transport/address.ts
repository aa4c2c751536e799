/**
 * Listen/dial addresses are URLs:
 *   unix:///abs/path        Unix socket file (kernel peer credentials)
 *   unix://@name            Linux abstract socket (no file permissions!)
 *   tcp://127.0.0.1:7000    TCP (no peer credentials)
 *   unix+tls:///abs/path    Unix socket + mutual TLS 1.3
 *   unix+tls://@name        abstract socket + mutual TLS 1.3
 *   tls://host:port         TCP + mutual TLS 1.3
 */
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

/** The argument Node's net.connect / server.listen take for a Unix address. */
export function unixSocketPath(a: Address & { kind: 'unix' | 'abstract' }): string {
  return a.kind === 'unix' ? a.path : `\0${a.name}`;
}

export function formatAddress(a: Address): string {
  return a.url;
}
