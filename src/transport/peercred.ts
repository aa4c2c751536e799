/**
 * Kernel peer credentials for Unix-socket connections.
 *
 * Reads `SO_PEERCRED` (Linux) / `getpeereid` + `LOCAL_PEERPID` (macOS) through FlyMe's small N-API addon
 * (`build/Release/flyme_peercred.node`, built by `scripts/build-native.mjs`). On Linux ≥ 6.5 the peer's pid
 * is pinned with `SO_PEERPIDFD`, and `/proc/PID/exe` and the process start time are reported only when the
 * pidfd proves, after reading them, that the pid still names the process that connected.
 *
 * Fail closed: if the credentials cannot be read, {@link readPeerCredentials} throws
 * `FLYME_UNAUTHENTICATED`; there is no "unknown uid" fallback. See docs/peercred.md.
 *
 * The same addon opens directories beneath a root without following links (`openBeneath`, `readDirFd`),
 * for flymed's `list` (docs/peercred.md, "Confined directory opens").
 *
 * This module is part of the transport layer and must not import auth/. {@link PeerCredentials} has the
 * same shape as auth's `PeerIdentity` and is used structurally.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FlyMeError, flymeError } from '../errors.js';

/** Kernel-attested identity of a Unix-socket peer. Same shape as auth's `PeerIdentity`. */
export interface PeerCredentials {
  uid: number;
  gid: number;
  /** Pid recorded by the kernel at connect(); absent when not visible (other pid namespace). */
  pid?: number;
  /** `/proc/PID/exe` target, present only when read while the pidfd proved the process was the peer. */
  exe?: string;
  /** Process start time in clock ticks since boot (`/proc/PID/stat` field 22), same condition as `exe`. */
  startTime?: number;
  /** True when the pid was pinned with SO_PEERPIDFD and still named the peer after `exe`/`startTime` were read. */
  pidfd?: boolean;
}

/** One entry read by {@link PeercredAddon.readDirFd}: `lstat`-like, never following a link. */
export interface DirEntryStat {
  name: string;
  /** `st_mode` (type bits and permissions). */
  mode: number;
  size: number;
  mtimeMs: number;
}

/** What the addon's peerProcess returns (fields it could not establish are absent). */
interface RawPeerProcess {
  uid: number;
  gid: number;
  pid: number;
  pidfd?: boolean;
  exe?: string;
  startTime?: number;
  /** With `keep`: the live peer's pidfd. */
  pidfdFd?: number;
}

/** The functions exported by `flyme_peercred.node` (see the header comment of native/peercred.cc). */
export interface PeercredAddon {
  /** SO_PEERCRED / getpeereid. `pid` is -1 when unknown. Throws an Error (with `.code`) on failure or non-AF_UNIX sockets. */
  getPeerCred(fd: number): { uid: number; gid: number; pid: number };
  /**
   * `pidfd_send_signal(pidfd, 0)` succeeded (EPERM counts as alive): the process has not been reaped, so its pid
   * is still its own. Always false off Linux.
   */
  pidfdAlive(pidfd: number): boolean;
  /**
   * Linux only (native/peer_process.cc): SO_PEERCRED, then SO_PEERPIDFD, `/proc/PID/exe` and the start time,
   * reported (with `pidfd: true`) only if the pidfd shows after the reads that the process was not reaped, in
   * one call. `pid` is -1 when unknown (then no `pidfd`). With `keep`, the pidfd of a peer found alive is
   * returned as `pidfdFd` (O_CLOEXEC, the caller's to close) instead of closed. Throws like getPeerCred.
   */
  peerProcess?(fd: number, keep?: boolean): RawPeerProcess;
  /** close(2). */
  closeFd(fd: number): void;
  /**
   * Opens the directory `relative` beneath the directory `rootPath` (symlinks in `rootPath` itself are
   * followed; none beneath it): `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` on
   * Linux ≥ 5.6, else (or with `walk`) one `openat(O_NOFOLLOW | O_DIRECTORY)` per component. `relative` is
   * `""` (the root itself) or plain names joined by `/`. Returns an O_CLOEXEC fd the caller must close.
   * Throws an Error with `.code`: ENOENT (missing), ELOOP (a symbolic link on the way), EXDEV (a `..`
   * component), ENOTDIR, EACCES, EINVAL (not a normalized relative path, NUL byte), …
   */
  openBeneath(rootPath: string, relative: string, walk?: boolean): number;
  /**
   * Reads at most `maxEntries` entries of the directory open at `fd` on the thread pool, each `fstatat`'ed
   * without following links (`mode` is `st_mode`); `truncated` when more followed. Reads a dup of `fd`
   * taken at the call: `fd` stays the caller's to close. Rejects with an Error with `.code`.
   */
  readDirFd(fd: number, maxEntries: number): Promise<{ entries: DirEntryStat[]; truncated: boolean }>;
  readonly platform: 'linux' | 'darwin' | 'unsupported';
}

const ADDON_FILE = join('build', 'Release', 'flyme_peercred.node');
/** dist/src/transport -> package root is 3 levels up; src/transport is 2. Never search further. */
const MAX_LEVELS_UP = 4;

let cachedAddon: PeercredAddon | undefined;
let cachedLoadError: FlyMeError | undefined;

function findAddonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= MAX_LEVELS_UP; i++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * Loads (once) and returns the native peer-credential addon.
 * @throws FlyMeError `FLYME_NATIVE_UNAVAILABLE` when it is not built or cannot be loaded.
 */
export function loadPeercredAddon(): PeercredAddon {
  if (cachedAddon) return cachedAddon;
  if (cachedLoadError) throw cachedLoadError;
  const hint = 'run `npm install-scripts approve flyme && npm rebuild flyme` in your project (or `npm run build` in a checkout); building needs python3, make and g++';
  const path = findAddonPath();
  if (path === undefined) {
    cachedLoadError = flymeError(
      'FLYME_NATIVE_UNAVAILABLE',
      `native peer-credential addon not found (${ADDON_FILE}): ${hint}`,
    );
    throw cachedLoadError;
  }
  try {
    const require = createRequire(import.meta.url);
    cachedAddon = require(path) as PeercredAddon;
    return cachedAddon;
  } catch (err) {
    cachedLoadError = flymeError(
      'FLYME_NATIVE_UNAVAILABLE',
      `native peer-credential addon at ${path} cannot be loaded (${(err as Error).message}): ${hint}`,
      { path },
      err,
    );
    throw cachedLoadError;
  }
}

/**
 * Throws unless Unix-socket peers can be identified here: the addon loads (see loadPeercredAddon) and this
 * platform is supported (else FLYME_NATIVE_UNAVAILABLE).
 */
export function requirePeerCredentials(): void {
  if (loadPeercredAddon().platform === 'unsupported') {
    throw flymeError('FLYME_NATIVE_UNAVAILABLE', `peer credentials of Unix-socket clients cannot be read on ${process.platform}`);
  }
}

/** True when the native addon loads on this platform, i.e. Unix-socket peers can be identified. */
export function peerCredentialsAvailable(): boolean {
  try {
    requirePeerCredentials();
    return true;
  } catch {
    return false;
  }
}

/**
 * The socket's OS file descriptor (`socket._handle.fd`), or -1 when it has none (not connected, destroyed).
 * Works for a `net.Socket` on a Unix socket and for a server-side `tls.TLSSocket` over one (its TLSWrap
 * handle reports the underlying fd).
 */
export function socketFd(socket: Socket): number {
  const fd: unknown = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

/** Field 22 (`starttime`) of `/proc/PID/stat`; the command name (field 2) may contain spaces and ')'. */
export function parseProcStatStartTime(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the command start at field 3 (state); field 22 is index 19.
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const raw = fields[19];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * The addon's view of the peer of `fd` (Linux: one peerProcess call, pid pinned by a pidfd, see
 * native/peer_process.cc; elsewhere uid, gid and pid only), uid and gid checked. `keep`: see peerProcess.
 */
function rawPeerProcess(fd: number, keep: boolean): RawPeerProcess {
  const addon = loadPeercredAddon();
  if (!Number.isInteger(fd) || fd < 0) {
    throw flymeError('FLYME_UNAUTHENTICATED', 'cannot read peer credentials: socket has no file descriptor');
  }
  let raw: RawPeerProcess;
  try {
    raw = addon.peerProcess ? addon.peerProcess(fd, keep) : addon.getPeerCred(fd);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw flymeError(
      'FLYME_UNAUTHENTICATED',
      `cannot read peer credentials: ${(err as Error).message}`,
      typeof code === 'string' ? { errno: code } : undefined,
      err,
    );
  }
  if (!Number.isInteger(raw.uid) || raw.uid < 0 || !Number.isInteger(raw.gid) || raw.gid < 0) {
    if (raw.pidfdFd !== undefined) addon.closeFd(raw.pidfdFd);
    throw flymeError('FLYME_UNAUTHENTICATED', 'cannot read peer credentials: kernel returned no uid/gid');
  }
  return raw;
}

/**
 * Reads the peer credentials of a connected Unix-socket file descriptor. See {@link readPeerCredentials}.
 * @throws FlyMeError `FLYME_UNAUTHENTICATED` if the kernel does not report credentials, or
 *         `FLYME_NATIVE_UNAVAILABLE` if the addon is missing.
 */
export function readPeerCredentialsFromFd(fd: number): PeerCredentials {
  const raw = rawPeerProcess(fd, false);
  // Each result is built by one object literal with every field it has (not grown field by field), so it
  // keeps its fields in the object itself: one of these is kept per connection for the connection's life.
  const { uid, gid, pid } = raw;
  if (!(pid > 0)) return { uid, gid };
  if (raw.pidfd !== true) return { uid, gid, pid, pidfd: false }; // kernel < 6.5, macOS, or the peer already exited: no exe/startTime.
  const { exe, startTime } = raw;
  if (exe !== undefined) return startTime !== undefined ? { uid, gid, pid, pidfd: true, exe, startTime } : { uid, gid, pid, pidfd: true, exe };
  return startTime !== undefined ? { uid, gid, pid, pidfd: true, startTime } : { uid, gid, pid, pidfd: true };
}

/**
 * Reads the kernel's credentials of the peer of a connected Unix-domain `net.Socket`. Synchronous; meant to
 * run once per accepted connection.
 *
 * - `uid`/`gid` always (from SO_PEERCRED / getpeereid); `pid` when the kernel reports one.
 * - On Linux with SO_PEERPIDFD, `exe` and `startTime` only when proven to belong to the peer process
 *   (`pidfd: true`); otherwise they are absent, never guessed.
 *
 * @throws FlyMeError `FLYME_UNAUTHENTICATED` when the socket has no fd, is not a Unix socket, or the kernel
 *         reports no credentials; `FLYME_NATIVE_UNAVAILABLE` when the addon cannot be loaded.
 */
export function readPeerCredentials(socket: Socket): PeerCredentials {
  const fd = socketFd(socket);
  if (fd < 0) {
    throw flymeError('FLYME_UNAUTHENTICATED', 'cannot read peer credentials: socket has no file descriptor');
  }
  return readPeerCredentialsFromFd(fd);
}

/**
 * The process at the other end of a Unix socket, pinned by a pidfd (SO_PEERPIDFD) until the socket closes:
 * anything read about `pid` later (by an attestor) is accepted only if the pidfd still names that same live
 * process afterwards, so a caller that exited or whose pid was reused is never mistaken for another.
 */
export interface PinnedPeerProcess {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** True while the pinned process is alive and still has `pid`. */
  alive(): boolean;
  /**
   * Runs `fn` while the pidfd is held open (it is closed only after every such use finished and the socket
   * closed, so its number is never reused under a running check).
   */
  use<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Pins the peer of a connected Unix socket.
 * @throws FlyMeError FLYME_UNAUTHENTICATED when the kernel reports no credentials, no pid (another pid
 *   namespace), or cannot give a pidfd (Linux < 6.5, or the peer already exited).
 */
export function pinPeerProcess(socket: Socket): PinnedPeerProcess {
  const addon = loadPeercredAddon();
  // The pidfd peerProcess proved the reads with is the one kept: it names the process that connected.
  const creds = rawPeerProcess(socketFd(socket), true);
  if (!(creds.pid > 0)) throw flymeError('FLYME_UNAUTHENTICATED', 'the peer has no pid visible to this process (another pid namespace?)');
  const pidfd = creds.pidfdFd;
  if (pidfd === undefined) throw flymeError('FLYME_UNAUTHENTICATED', 'cannot pin the peer process: no pidfd (Linux >= 6.5 needed) or the peer already exited');
  const pid = creds.pid;
  let uses = 0;
  let socketClosed = false;
  let fdClosed = false;
  const maybeClose = (): void => {
    if (socketClosed && uses === 0 && !fdClosed) {
      fdClosed = true;
      addon.closeFd(pidfd);
    }
  };
  socket.once('close', () => { socketClosed = true; maybeClose(); });
  return {
    uid: creds.uid,
    gid: creds.gid,
    pid,
    // A pidfd names one process for good, and its pid is not handed on before that process is reaped.
    alive: () => !fdClosed && addon.pidfdAlive(pidfd),
    use: async (fn) => {
      if (fdClosed) throw flymeError('FLYME_UNAUTHENTICATED', 'the connection of this caller is closed');
      uses++;
      try {
        return await fn();
      } finally {
        uses--;
        maybeClose();
      }
    },
  };
}
