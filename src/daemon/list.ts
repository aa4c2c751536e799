/**
 * `list {paths}`: directory listings with the daemon's privilege, confined to the caller's `list.roots`.
 *
 * 1. Each configured root is resolved (realpath) when the policy loads or reloads, never at call time: a root
 *    a caller can write near (a home directory, a sticky /tmp) swapped for a symlink later neither redirects
 *    the root nor adds its target as a root.
 * 2. The requested path is normalized lexically (`.`, `..`, `//` removed; no filesystem access) and must lie,
 *    path-segment aware, under one of the caller's roots (as configured, or as resolved at load). If none
 *    contains it the call is refused before the path is touched, with the same error whether it exists or not.
 * 3. The directory is opened by the kernel beneath `/` along the resolved root and then the rest of the path
 *    (`openBeneath`: openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW component walk), so
 *    no symbolic link is followed anywhere on the way and nothing can be swapped between a check and the open.
 * 4. Entries are read from that descriptor (`readDirFd`, each lstat'ed relative to it); the descriptor is
 *    always closed. One call returns at most maxEntries entries over all its paths (later paths are reported
 *    truncated), and stops when the call is abandoned (timeout, peer gone).
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

/** A configured root and what it resolved to when the policy was loaded (undefined: it did not exist then). */
export interface ResolvedRoot { configured: string; real: string | undefined }

/** Resolves every root once (the policy's load or reload), so calls never follow a link to find one. */
export async function resolveRoots(roots: Iterable<string>): Promise<Map<string, ResolvedRoot>> {
  const out = new Map<string, ResolvedRoot>();
  for (const r of roots) {
    const configured = normalize(r);
    if (!out.has(configured)) out.set(configured, { configured, real: await realpath(configured).catch(() => undefined) });
  }
  return out;
}

/**
 * The path beneath `/` to open: the longest root (as configured, or as resolved at load) that lexically contains
 * `path`, resolved, followed by the rest of `path`. Nothing is looked at on disk.
 */
function chooseRoot(path: string, roots: readonly ResolvedRoot[]): string | undefined {
  let best: { beneathSlash: string; length: number } | undefined;
  for (const { configured, real } of roots) {
    for (const root of real !== undefined && real !== configured ? [configured, real] : [configured]) {
      const rel = beneath(path, root);
      if (rel === undefined || (best && root.length <= best.length)) continue;
      // Opened beneath `/` along the resolved root: a root that did not exist at load is opened as configured,
      // with no link followed either.
      best = { beneathSlash: [(real ?? configured).slice(1), rel].filter((x) => x !== '').join('/'), length: root.length };
    }
  }
  return best?.beneathSlash;
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

/**
 * List one path for a principal whose roots are given (resolved at load, see resolveRoots). Throws FlyMeError
 * for a refused or missing path.
 */
export async function listPath(path: string, roots: readonly ResolvedRoot[], maxEntries: number, addon?: PeercredAddon): Promise<ListResult> {
  if (path.includes('\0')) throw flymeError('FLYME_INVALID_PARAMS', `${JSON.stringify(path)}: paths must not contain NUL bytes`, { field: 'paths' });
  if (!posix.isAbsolute(path)) throw flymeError('FLYME_INVALID_PARAMS', `${path}: paths must be absolute`, { field: 'paths' });
  const normalized = normalize(path);
  const under = chooseRoot(normalized, roots);
  if (under === undefined) {
    throw flymeError('FLYME_PERMISSION_DENIED', `${path} is not under your list roots [${roots.map((r) => r.configured).join(', ') || 'none granted'}]`, { permission: 'list' });
  }
  const native = addon ?? loadPeercredAddon();
  let fd: number;
  try {
    fd = native.openBeneath('/', under);
  } catch (e) {
    throw openError(path, e);
  }
  let read: { entries: DirEntryStat[]; truncated: boolean };
  try {
    read = maxEntries > 0 ? await native.readDirFd(fd, maxEntries) : { entries: [], truncated: true };
  } catch (e) {
    throw openError(path, e);
  } finally {
    native.closeFd(fd);
  }
  const entries = read.entries.map(entryOf);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path, realPath: normalized, entries, truncated: read.truncated };
}

/** What ListRoots needs of a policy (the daemon's Policy). */
export interface ListRootsPolicy {
  /** Every root any role names. */
  allListRoots(): string[];
  /** The roots of one principal's roles. */
  listRoots(p: Principal): string[];
}

/**
 * Roots as resolved when each policy was loaded: `resolve(policy)` is called at startup and on every reload;
 * `rootsFor` waits for the current policy's resolution (a call racing a reload never resolves on its own).
 */
export class ListRoots {
  readonly #resolved = new WeakMap<ListRootsPolicy, Promise<Map<string, ResolvedRoot>>>();
  constructor(private readonly current: () => ListRootsPolicy) {}

  /** Resolve the roots of `policy` now (its load or reload). */
  resolve(policy: ListRootsPolicy): Promise<Map<string, ResolvedRoot>> {
    let r = this.#resolved.get(policy);
    if (!r) this.#resolved.set(policy, (r = resolveRoots(policy.allListRoots())));
    return r;
  }

  async rootsFor(p: Principal): Promise<ResolvedRoot[]> {
    const policy = this.current();
    const resolved = await this.resolve(policy);
    return policy.listRoots(p).map((r) => resolved.get(normalize(r)) ?? { configured: normalize(r), real: undefined });
  }
}

export function registerList(server: RpcServer, rootsFor: (p: Principal) => Promise<ResolvedRoot[]>, maxEntries = DEFAULT_MAX_ENTRIES): void {
  server.method({
    name: 'list',
    permission: 'list',
    privileged: true,
    params: Type.Object({
      paths: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: MAX_PATHS }),
      maxEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: maxEntries })),
    }, { additionalProperties: false }),
    handler: async ({ paths, maxEntries: asked }, ctx) => {
      const roots = await rootsFor(ctx.principal);
      const results: ListResult[] = [];
      // One budget for the whole call: 32 paths × maxEntries long names made answers of megabytes per request.
      let budget = asked ?? maxEntries;
      for (const path of paths) {
        if (ctx.signal.aborted) throw flymeError('FLYME_TIMEOUT', 'the call was abandoned (timed out, or the peer left)');
        try {
          const r = await listPath(path, roots, budget);
          if ('entries' in r) budget -= r.entries.length;
          results.push(r);
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
