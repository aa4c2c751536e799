/**
 * FlyMe's one atomic file writer: keys, certificates, JWKS, policy-adjacent state, CA state. A reader never
 * sees half a file, the file never exists with a looser mode than asked, and an existing file is never
 * replaced unless the caller says so.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { flymeError } from '../errors.js';

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Final mode of the file (e.g. 0o600 for private keys). */
  mode: number;
  /** Replace an existing file (the CLI's `--force`); default false: FLYME_FILE_EXISTS instead. */
  overwrite?: boolean;
  /** Mode of the directory when it has to be created (default 0o700). */
  dirMode?: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function fileExists(path: string): never {
  throw flymeError('FLYME_FILE_EXISTS', `refusing to overwrite ${path}; use --force to replace it`, { path });
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fd = await open(dir, constants.O_RDONLY);
    try { await fd.sync(); } finally { await fd.close(); }
  } catch {
    // Best effort: some filesystems refuse fsync on directories.
  }
}

/**
 * Writes `content` to `path` atomically with exactly `mode`: a temp file in the same directory is created
 * with O_EXCL and the mode, written, fsynced, then moved into place: renamed over the old file when
 * `overwrite`, otherwise hard-linked, which fails if the path appeared meanwhile (FLYME_FILE_EXISTS).
 * @example await writeFileAtomic('/etc/flyme/certs/server.key.pem', pem, { mode: 0o600 })
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, opts: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o700 });
  if (!opts.overwrite && (await exists(path))) fileExists(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await open(tmp, 'wx', opts.mode);
  try {
    try {
      await fd.chmod(opts.mode); // the umask may have removed bits we want (e.g. 0644 under umask 077)
      await fd.writeFile(content);
      await fd.sync();
    } finally {
      await fd.close();
    }
    if (opts.overwrite) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') fileExists(path);
        throw err;
      }
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dir);
}
