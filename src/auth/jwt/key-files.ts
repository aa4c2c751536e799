/**
 * Key files on disk: private JWKs written 0600 through a temp file and an atomic link/rename
 * (never overwritten without `force`), and the public `jwks.json` merged so that rotation is
 * "generate a second kid".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import { flymeError } from '../../errors.js';
import { writeFileAtomic as writeAtomic } from '../../files/atomic-write.js';
import type { GeneratedKey } from './signing-key.js';

/** Paths written by {@link writeKeyFiles}. */
export interface WrittenKeyFiles {
  privateKeyPath: string;
  /** Absent for HS256. */
  jwksPath?: string;
}

/**
 * Writes `DIR/<kid>.private.jwk.json` (0600) and merges the public key into `DIR/jwks.json`.
 * Throws FLYME_FILE_EXISTS when the private key file or the kid in jwks.json exists and
 * `force` is false.
 *
 * @example
 * await writeKeyFiles('/etc/flyme/keys', await generateSigningKey('ES256', '2026-02'), { force: false })
 */
export async function writeKeyFiles(dir: string, key: GeneratedKey, options: { force?: boolean } = {}): Promise<WrittenKeyFiles> {
  const force = options.force === true;
  const privateKeyPath = join(dir, `${key.kid}.private.jwk.json`);
  let jwks: { path: string; body: JSONWebKeySet } | undefined;
  if (key.publicJwk) {
    const path = join(dir, 'jwks.json');
    const existing = await readJwksForMerge(path);
    if (existing.keys.some((k) => k.kid === key.kid) && !force) {
      throw flymeError('FLYME_FILE_EXISTS', `${path} already holds kid ${JSON.stringify(key.kid)} (use --force to replace it)`, { path });
    }
    jwks = { path, body: { keys: [...existing.keys.filter((k) => k.kid !== key.kid), key.publicJwk] } };
  }
  await writeFileAtomic(privateKeyPath, `${JSON.stringify(key.privateJwk, null, 2)}\n`, 0o600, force);
  if (jwks) await writeFileAtomic(jwks.path, `${JSON.stringify(jwks.body, null, 2)}\n`, 0o644, true);
  return { privateKeyPath, ...(jwks ? { jwksPath: jwks.path } : {}) };
}

/**
 * Writes `data` to `path` with `mode` atomically (FlyMe's one writer). Without `overwrite`, an existing
 * `path` is never replaced (FLYME_FILE_EXISTS).
 *
 * @example
 * await writeFileAtomic('/tmp/k.json', '{}', 0o600, false)
 */
export function writeFileAtomic(path: string, data: string, mode: number, overwrite: boolean): Promise<void> {
  return writeAtomic(path, data, { mode, overwrite, dirMode: 0o700 });
}

/**
 * Reads a JSON file; FLYME_INVALID_CONFIG when it is missing or not JSON.
 *
 * @example
 * const jwk = await readJsonFile('k1.private.jwk.json')
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { path }, cause);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw flymeError('FLYME_INVALID_CONFIG', `${path} is not valid JSON`, { path });
  }
}

async function readJwksForMerge(path: string): Promise<{ keys: JWK[] }> {
  try {
    await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [] };
    throw err;
  }
  const body = await readJsonFile(path);
  const keys = (body as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw flymeError('FLYME_INVALID_CONFIG', `${path} is not a JWKS (no "keys" array)`, { path });
  return { keys: keys as JWK[] };
}
