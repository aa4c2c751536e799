/**
 * `list {paths}`: directory listings with the daemon's privilege, confined to the caller's `list.roots`.
 * Each path is resolved with realpath (so `..` and symlinks are followed first) and must then lie under
 * a realpath'd root; the directory is opened once and read through that handle; entries are lstat'ed
 * (an entry that is a symlink is reported as one, never followed).
 */
import { lstat, opendir, realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../auth/principal.js';
import { flymeError, FlyMeError } from '../errors.js';
import type { RpcServer } from '../rpc/server.js';

export const DEFAULT_MAX_ENTRIES = 1000;
const MAX_PATHS = 32;

export interface ListEntry { name: string; type: string; size: number; mode: string; mtime: string }
export type ListResult =
  | { path: string; realPath: string; entries: ListEntry[]; truncated: boolean }
  | { path: string; error: { code: string; message: string } };

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function typeOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isSocket(): boolean; isFIFO(): boolean }): string {
  return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : s.isSocket() ? 'socket' : s.isFIFO() ? 'fifo' : 'other';
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(r));
    } catch {
      // a root that does not exist grants nothing
    }
  }
  return out;
}

/** List one path for a principal whose roots are given. Throws FlyMeError for a refused or missing path. */
export async function listPath(path: string, roots: readonly string[], maxEntries: number): Promise<ListResult> {
  if (!isAbsolute(path)) throw flymeError('FLYME_INVALID_PARAMS', `${path}: paths must be absolute`, { field: 'paths' });
  const real = await realpath(path).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' ? flymeError('FLYME_NOT_FOUND', `${path}: no such file or directory`)
      : flymeError('FLYME_PERMISSION_DENIED', `${path}: cannot be resolved (${e.code})`);
  });
  const allowed = await realRoots(roots);
  if (!allowed.some((r) => within(real, r))) {
    const shown = real === path ? path : `${path} (resolves to ${real})`;
    throw flymeError('FLYME_PERMISSION_DENIED', `${shown} is outside your list roots [${roots.join(', ') || 'none granted'}]`, { permission: 'list' });
  }
  const dir = await opendir(real, { bufferSize: 64 }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOTDIR' ? flymeError('FLYME_INVALID_PARAMS', `${path} is not a directory`, { field: 'paths' })
      : flymeError('FLYME_NOT_FOUND', `${path}: cannot open (${e.code})`);
  });
  const entries: ListEntry[] = [];
  let truncated = false;
  try {
    for await (const d of dir) {
      if (entries.length >= maxEntries) {
        truncated = true;
        break;
      }
      const s = await lstat(join(real, d.name)).catch(() => undefined);
      if (!s) continue; // removed while listing
      entries.push({ name: d.name, type: typeOf(s), size: s.size, mode: (s.mode & 0o7777).toString(8).padStart(4, '0'), mtime: s.mtime.toISOString() });
    }
  } finally {
    await dir.close().catch(() => {});
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path, realPath: real, entries, truncated };
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
