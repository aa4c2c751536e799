/**
 * Unix socket file hygiene: create the parent directory 0750, never steal a live daemon's socket,
 * never remove something that is not a socket, set the socket's mode and group.
 */
import { mkdirSync, lstatSync, unlinkSync, chmodSync, chownSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { flymeError } from '../errors.js';

export const DEFAULT_SOCKET_MODE = 0o660;
export const DEFAULT_DIR_MODE = 0o750;

/** Probe a socket path: resolves true when something accepts a connection there. */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // no answer: assume live, never steal
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'EAGAIN'));
  });
}

/**
 * Make `path` ready to bind: create its directory if missing (mode 0750), and remove a stale socket
 * (a socket nobody answers on). A live socket or a non-socket file is an error and left alone.
 */
export async function prepareSocketPath(path: string, dirMode = DEFAULT_DIR_MODE): Promise<void> {
  const dir = dirname(path);
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: dirMode });
    chmodSync(dir, dirMode);
  }
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw flymeError('FLYME_ADDRESS_IN_USE', `${path} exists and is not a socket; refusing to remove it`, { path });
  }
  if (await socketIsLive(path)) {
    throw flymeError('FLYME_ADDRESS_IN_USE', `a server is already listening on ${path}; stop it first`, { path });
  }
  unlinkSync(path);
}

/** Apply mode and (optionally) group to a freshly bound socket file. */
export function applySocketPermissions(path: string, mode: number, gid?: number): void {
  if (gid !== undefined) chownSync(path, -1, gid);
  chmodSync(path, mode);
}

/** Remove our socket file at shutdown, only if it is still a socket. */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    /* already gone */
  }
}
