/**
 * `list {paths}`: directory listings with the daemon's privilege, confined to the caller's `list.roots`.
 *
 * 1. The requested path is normalized lexically (`.`, `..`, `//` removed; no filesystem access) and must lie,
 *    path-segment aware, under one of the caller's roots (as configured, or its realpath). If none contains
 *    it the call is refused before the path is touched, with the same error whether it exists or not.
 * 2. The directory is opened beneath that root by the kernel (`openBeneath`: openat2 with RESOLVE_BENEATH |
 *    RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW component walk), so no symbolic link under the root is ever
 *    followed and nothing can be swapped between a check and the open.
 * 3. Entries are read from that descriptor (`readDirFd`, at most maxEntries, each lstat'ed relative to it);
 *    the descriptor is always closed.
 * No resolved path or link target is ever reported: `realPath` is the lexically normalized path.
 */
import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../auth/principal.js';
import { flymeError, FlyMeError } from '../errors.js';
import type { RpcServer } from '../rpc/server.js';
import { loadPeercredAddon, type DirEntryStat, type PeercredAddon } from '../transport/peercred.js';

export const DEFAULT_MAX_ENTRIES = 1000;
const MAX_PATHS = 32;

export interface ListEntry { name: string; type: string; size: number; mode: string; mtime: string }
export type ListResult =
  /** `realPath`: the requested path normalized lexically (kept for compatibility; never a link's target). */
  | { path: string; realPath: string; entries: ListEntry[]; truncated: boolean }
  | { path: string; error: { code: string; message: string } };

/** Lexical normalization: `posix.normalize` without a trailing slash (`/` stays `/`). */
function normalize(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** `path` relative to `root` when `root` contains it path-segment aware (`/tmpx` is not under `/tmp`). */
function beneath(path: string, root: string): string | undefined {
  if (path === root) return '';
  const prefix = root === '/' ? '/' : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
}

const S_IFMT = 0o170000;
const TYPES: Record<number, string> = { 0o100000: 'file', 0o040000: 'directory', 0o120000: 'symlink', 0o140000: 'socket', 0o010000: 'fifo' };

function entryOf(e: DirEntryStat): ListEntry {
  return { name: e.name, type: TYPES[e.mode & S_IFMT] ?? 'other', size: e.size, mode: (e.mode & 0o7777).toString(8).padStart(4, '0'), mtime: new Date(e.mtimeMs).toISOString() };
}

/**
 * The root to open and the relative path beneath it: the longest root (as configured, or its realpath)
 * that lexically contains `path`. Only the configured roots are looked at on disk, never `path`.
 */
async function chooseRoot(path: string, roots: readonly string[]): Promise<{ root: string; rel: string } | undefined> {
  let best: { root: string; rel: string } | undefined;
  const consider = (root: string): void => {
    const rel = beneath(path, root);
    if (rel !== undefined && (!best || root.length > best.root.length)) best = { root, rel };
  };
  for (const configured of roots) {
    const root = normalize(configured);
    consider(root);
    const real = await realpath(root).catch(() => undefined); // a root that does not exist adds nothing
    if (real !== undefined && real !== root) consider(real);
  }
  return best;
}

/** The FlyMeError for a failed open or read of `path` (already known to be under the caller's roots). */
function openError(path: string, e: unknown): FlyMeError {
  const code = (e as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT':
      return flymeError('FLYME_NOT_FOUND', `${path}: no such file or directory`);
    case 'ELOOP':
    case 'EXDEV':
      return flymeError('FLYME_PERMISSION_DENIED', `${path} is or passes through a symbolic link, which list never follows`, { permission: 'list' });
    case 'ENOTDIR':
      return flymeError('FLYME_INVALID_PARAMS', `${path} is not a directory`, { field: 'paths' });
    case 'EACCES':
    case 'EPERM':
      return flymeError('FLYME_PERMISSION_DENIED', `${path}: the daemon itself may not read it (${code})`, { permission: 'list' });
    case 'ENAMETOOLONG':
      return flymeError('FLYME_INVALID_PARAMS', `${path}: a name is too long`, { field: 'paths' });
    default:
      return flymeError('FLYME_INTERNAL', `${path}: cannot open (${typeof code === 'string' ? code : 'unknown error'})`, undefined, e);
  }
}

/** List one path for a principal whose roots are given. Throws FlyMeError for a refused or missing path. */
export async function listPath(path: string, roots: readonly string[], maxEntries: number, addon?: PeercredAddon): Promise<ListResult> {
  if (path.includes('\0')) throw flymeError('FLYME_INVALID_PARAMS', `${JSON.stringify(path)}: paths must not contain NUL bytes`, { field: 'paths' });
  if (!posix.isAbsolute(path)) throw flymeError('FLYME_INVALID_PARAMS', `${path}: paths must be absolute`, { field: 'paths' });
  const normalized = normalize(path);
  const under = await chooseRoot(normalized, roots);
  if (!under) {
    throw flymeError('FLYME_PERMISSION_DENIED', `${path} is not under your list roots [${roots.join(', ') || 'none granted'}]`, { permission: 'list' });
  }
  const native = addon ?? loadPeercredAddon();
  let fd: number;
  try {
    fd = native.openBeneath(under.root, under.rel);
  } catch (e) {
    throw openError(path, e);
  }
  let read: { entries: DirEntryStat[]; truncated: boolean };
  try {
    read = await native.readDirFd(fd, maxEntries);
  } catch (e) {
    throw openError(path, e);
  } finally {
    native.closeFd(fd);
  }
  const entries = read.entries.map(entryOf);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path, realPath: normalized, entries, truncated: read.truncated };
}

export function registerList(server: RpcServer, rootsOf: (p: Principal) => string[], maxEntries = DEFAULT_MAX_ENTRIES): void {
  server.method({
    name: 'list',
    permission: 'list',
    privileged: true,
    params: Type.Object({
      paths: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: MAX_PATHS }),
      maxEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: maxEntries })),
    }, { additionalProperties: false }),
    handler: async ({ paths, maxEntries: asked }, ctx) => {
      const roots = rootsOf(ctx.principal);
      const results: ListResult[] = [];
      for (const path of paths) {
        try {
          results.push(await listPath(path, roots, asked ?? maxEntries));
        } catch (e) {
          if (!(e instanceof FlyMeError)) throw e;
          // A refused path fails the whole call (and is audited as a denial); a missing one is reported per path.
          if (paths.length === 1 || e.code === 'FLYME_PERMISSION_DENIED') throw e;
          results.push({ path, error: { code: e.code, message: e.message } });
        }
      }
      return { results };
    },
  });
}
