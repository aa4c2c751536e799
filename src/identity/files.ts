import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { flymeError } from '../errors.js';

/** Options for {@link writePrivateKeyFile} and {@link writePublicFile}. */
export interface WriteFileOptions {
  /** Replace an existing file (the CLI's `--force`). Default false. */
  force?: boolean;
  /** Mode of the directory when it has to be created; default 0o700 for keys, 0o755 for public files. */
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
 * Writes `content` atomically with exactly `mode`: a temp file in the same directory is created with
 * O_EXCL and the mode, written, fsynced, then moved into place. Without `force` the final step is a hard link,
 * which fails if the path appeared meanwhile, so an existing file is never replaced.
 */
async function writeAtomic(path: string, content: string, mode: number, defaultDirMode: number, opts: WriteFileOptions): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: opts.dirMode ?? defaultDirMode });
  if (!opts.force && (await exists(path))) fileExists(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await open(tmp, 'wx', mode);
  try {
    try {
      await fd.chmod(mode); // the umask may have removed bits we want (e.g. 0644 under umask 077)
      await fd.writeFile(content);
      await fd.sync();
    } finally {
      await fd.close();
    }
    if (opts.force) {
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

/**
 * Writes a private key (PEM) with mode 0600, atomically; creates the directory 0700 if missing.
 * @throws FlyMeError FLYME_FILE_EXISTS when the file exists and `force` is not set.
 * @example await writePrivateKeyFile('/etc/flyme/certs/server.key.pem', keyPem, { force: false })
 */
export async function writePrivateKeyFile(path: string, pem: string, opts: WriteFileOptions = {}): Promise<void> {
  await writeAtomic(path, pem, 0o600, 0o700, opts);
}

/**
 * Writes a public file (certificate PEM) with mode 0644, atomically; creates the directory 0755 if missing.
 * @throws FlyMeError FLYME_FILE_EXISTS when the file exists and `force` is not set.
 */
export async function writePublicFile(path: string, content: string, opts: WriteFileOptions = {}): Promise<void> {
  await writeAtomic(path, content, 0o644, 0o755, opts);
}
