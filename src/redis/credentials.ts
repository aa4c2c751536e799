/**
 * Logging in to Redis as the identity's ACL user (docs/redis.md "Redis's own ACL"): credentials given inline
 * or as a file written by `flyme redis acl` (re-read at every (re)connection, so a rotated password is picked
 * up without a restart). The password is never put in a message, an error or an enumerable option.
 */
import { readFile, stat } from 'node:fs/promises';
import type { RedisClientOptions } from '@redis/client';
import { flymeError, type FlyMeError } from '../errors.js';

export interface RedisCredentials {
  username: string;
  password: string;
}

const MAX_CREDENTIALS_BYTES = 16 * 1024;

/**
 * Read a credentials file (`{spiffeId?, username, password}`, as `flyme redis acl` writes it). Refused when
 * group or others may read it, or when it is not such an object; the error never quotes the file's content.
 */
export async function loadRedisCredentials(path: string): Promise<RedisCredentials & { spiffeId?: string }> {
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: not a regular file`, { file: path });
    if (st.mode & 0o077) throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets others read the password; chmod 600 it`, { file: path });
    if (st.size > MAX_CREDENTIALS_BYTES) throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: larger than ${MAX_CREDENTIALS_BYTES} bytes`, { file: path });
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || code.startsWith('FLYME_')) throw e;
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read Redis credentials ${path}: ${code === 'ENOENT' ? 'no such file' : code}`, { file: path }, e);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: not JSON (expected {"username": …, "password": …} as flyme redis acl writes it)`, { file: path });
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  for (const field of ['username', 'password'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '') throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: ${field} must be a non-empty string`, { file: path, field });
  }
  if (o.spiffeId !== undefined && typeof o.spiffeId !== 'string') throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${path}: spiffeId must be a string`, { file: path, field: 'spiffeId' });
  return { username: o.username as string, password: o.password as string, ...(typeof o.spiffeId === 'string' ? { spiffeId: o.spiffeId } : {}) };
}

/**
 * node-redis options that log in with the credentials (none without). A file is read at each connection and
 * must be for `spiffeId()` when it names an ID (a file of another identity is refused, not used).
 */
export function redisLoginOptions(credentials: RedisCredentials | string | undefined, spiffeId: () => string): Pick<RedisClientOptions, 'credentialsProvider'> {
  if (credentials === undefined) return {};
  if (typeof credentials !== 'string' && (typeof credentials?.username !== 'string' || !credentials.username || typeof credentials.password !== 'string' || !credentials.password)) {
    throw flymeError('FLYME_INVALID_CONFIG', 'credentials: username and password must be non-empty strings (or give the path of a flyme redis acl credentials file)');
  }
  const get = typeof credentials === 'string'
    ? async () => {
      const c = await loadRedisCredentials(credentials);
      if (c.spiffeId !== undefined && c.spiffeId !== spiffeId()) {
        throw flymeError('FLYME_INVALID_CONFIG', `Redis credentials ${credentials} are for ${c.spiffeId}, not for this identity ${spiffeId()}`, { file: credentials });
      }
      return { username: c.username, password: c.password };
    }
    : async () => ({ username: credentials.username, password: credentials.password });
  return { credentialsProvider: { type: 'async-credentials-provider', credentials: get } };
}

/** Redis refused the login or the command's permissions (WRONGPASS, NOAUTH, NOPERM): retrying will not help. */
export function isRedisAuthError(e: unknown): boolean {
  return e instanceof Error && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(e.message);
}

/** Until the first connection is ready, a login refusal or a bad credentials file ends connect() instead of retrying forever. */
export function givesUpBeforeReady(cause: unknown): boolean {
  return isRedisAuthError(cause) || (cause instanceof Error && (cause as FlyMeError).code === 'FLYME_INVALID_CONFIG');
}

/** A login refusal as a FlyMeError naming who logged in (`as`: the user or the credentials file), never the password. */
export function redisLoginError(host: string, as: string | undefined, e: Error): FlyMeError {
  const hint = /^NOAUTH/.test(e.message)
    ? 'Redis requires a login: give the credentials flyme redis acl wrote for this identity (credentials / withCredentials / --redis-credentials)'
    : `Redis refused the login${as ? ` as ${as}` : ''}: is users.acl loaded (ACL LOAD) and the credentials file current?`;
  return flymeError('FLYME_UNAUTHENTICATED', `${host}: ${hint} (${e.message})`, { redis: e.message.split(' ')[0] });
}
