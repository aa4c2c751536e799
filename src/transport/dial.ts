/** Dial an address URL; errors are mapped to clear FlyMe errors (socket missing, access denied...). */
import { connect, type Socket } from 'node:net';
import { flymeError, type FlyMeError } from '../errors.js';
import { parseAddress, unixSocketPath, type Address } from './address.js';

export interface DialOptions {
  /** Connect timeout (default 5000 ms). */
  timeoutMs?: number;
}

function where(a: Address): string {
  return a.kind === 'unix' ? a.path : a.kind === 'abstract' ? `@${a.name}` : `${a.host}:${a.port}`;
}

export function mapDialError(a: Address, err: NodeJS.ErrnoException): FlyMeError {
  const at = where(a);
  switch (err.code) {
    case 'ENOENT':
      return flymeError('FLYME_UNREACHABLE', `no socket at ${at}: is flymed running? expected at ${a.url}`, { address: a.url, errno: err.code });
    case 'ECONNREFUSED':
      return flymeError('FLYME_UNREACHABLE', `connection refused at ${at}: is flymed running? (a stale socket file may be left over)`, { address: a.url, errno: err.code });
    case 'EACCES':
    case 'EPERM':
      return flymeError('FLYME_SOCKET_ACCESS_DENIED', `permission denied on socket ${at}: your user may not open it (check its mode and group, e.g. join the socket's group)`, { address: a.url, errno: err.code });
    case 'EAGAIN':
      return flymeError('FLYME_UNREACHABLE', `${at} accepts no more connections for now (its queue stayed full until the connect timeout: the daemon is busy, or being flooded)`, { address: a.url, errno: err.code });
    case 'ETIMEDOUT':
      return flymeError('FLYME_TIMEOUT', `timed out connecting to ${at}`, { address: a.url });
    default:
      return flymeError('FLYME_UNREACHABLE', `cannot connect to ${at}: ${err.message}`, { address: a.url, errno: err.code ?? null });
  }
}

/**
 * Open a plain (non-TLS) connection. A Unix socket whose accept queue is full refuses at once with EAGAIN (a
 * busy daemon, or another local user flooding it with connects): that is tried again, 5 ms later and then up
 * to every 200 ms, until the connect timeout.
 */
export function dialPlain(a: Address, options: DialOptions = {}): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    let pause = 5;
    const attempt = (): void => {
      const socket = a.kind === 'tcp' ? connect({ host: a.host, port: a.port, noDelay: true }) : connect({ path: unixSocketPath(a) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(flymeError('FLYME_TIMEOUT', `timed out connecting to ${where(a)}`, { address: a.url }));
      }, Math.max(0, deadline - Date.now()));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code === 'EAGAIN' && a.kind !== 'tcp' && Date.now() + pause < deadline) {
          setTimeout(attempt, pause);
          pause = Math.min(pause * 2, 200);
          return;
        }
        reject(mapDialError(a, err));
      });
    };
    attempt();
  });
}

export function dial(url: string, options: DialOptions = {}): Promise<Socket> {
  const a = parseAddress(url);
  if (a.tls) return Promise.reject(flymeError('FLYME_INVALID_CONFIG', `${url} needs TLS client credentials`));
  return dialPlain(a, options);
}
