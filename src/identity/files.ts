/** Key and certificate files, written through FlyMe's one atomic writer (src/files/atomic-write.ts). */
import { writeFileAtomic } from '../files/atomic-write.js';

/** Options for {@link writePrivateKeyFile} and {@link writePublicFile}. */
export interface WriteFileOptions {
  /** Replace an existing file (the CLI's `--force`). Default false. */
  force?: boolean;
  /** Mode of the directory when it has to be created; default 0o700 for keys, 0o755 for public files. */
  dirMode?: number;
}

/**
 * Writes a private key (PEM) with mode 0600, atomically; creates the directory 0700 if missing.
 * @throws FlyMeError FLYME_FILE_EXISTS when the file exists and `force` is not set.
 * @example await writePrivateKeyFile('/etc/flyme/certs/server.key.pem', keyPem, { force: false })
 */
export async function writePrivateKeyFile(path: string, pem: string, opts: WriteFileOptions = {}): Promise<void> {
  await writeFileAtomic(path, pem, { mode: 0o600, overwrite: opts.force ?? false, dirMode: opts.dirMode ?? 0o700 });
}

/**
 * Writes a public file (certificate PEM) with mode 0644, atomically; creates the directory 0755 if missing.
 * @throws FlyMeError FLYME_FILE_EXISTS when the file exists and `force` is not set.
 */
export async function writePublicFile(path: string, content: string, opts: WriteFileOptions = {}): Promise<void> {
  await writeFileAtomic(path, content, { mode: 0o644, overwrite: opts.force ?? false, dirMode: opts.dirMode ?? 0o755 });
}
