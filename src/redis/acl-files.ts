/**
 * `flyme redis acl --out DIR`: writes DIR/users.acl (for redis.conf `aclfile`, hashes only) and one
 * credentials file per identity, DIR/credentials/<username>.json (0600: `{spiffeId, username, password}`),
 * each with a fresh random password. Nothing is replaced without `force`; every file is written atomically,
 * the credentials before users.acl, so an aclfile never names a password no file holds.
 */
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Policy } from '../auth/policy/policy.js';
import { flymeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { aclFileText, redisAclUsers, redisPasswordHash, type RedisAclUser } from './redis-acl.js';

export interface WrittenRedisAcl {
  aclFile: string;
  users: Array<RedisAclUser & { credentialsFile: string }>;
  notExpanded: string[];
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return false;
    throw e;
  });
}

/**
 * Generate users and passwords for the policy's channel ACL and write them under `dir`.
 * @throws FLYME_FILE_EXISTS (a file to write exists and `force` is not set: nothing is written),
 *   FLYME_INVALID_CONFIG (no identity to write, a channel Redis cannot hold, an `identities` ID without channels)
 */
export async function writeRedisAcl(policy: Policy, dir: string, o: { force?: boolean; identities?: readonly string[]; cluster?: boolean } = {}): Promise<WrittenRedisAcl> {
  const plan = redisAclUsers(policy, o.identities ? { identities: o.identities } : {});
  if (plan.users.length === 0) {
    throw flymeError('FLYME_INVALID_CONFIG', `${policy.info.source}: the channels section names no SPIFFE ID (by spiffeId, or by a role bound to a spiffeId); name members of a prefix with --identity`, { file: policy.info.source });
  }
  const aclFile = join(dir, 'users.acl');
  const users = plan.users.map((u) => ({ ...u, credentialsFile: join(dir, 'credentials', `${u.username}.json`), password: randomBytes(32).toString('base64url') }));
  if (!o.force) {
    for (const path of [aclFile, ...users.map((u) => u.credentialsFile)]) {
      if (await exists(path)) throw flymeError('FLYME_FILE_EXISTS', `refusing to overwrite ${path}; use --force to replace it (every identity then gets a new password)`, { path });
    }
  }
  for (const u of users) {
    const body = JSON.stringify({ spiffeId: u.spiffeId, username: u.username, password: u.password }, null, 2) + '\n';
    await writeFileAtomic(u.credentialsFile, body, { mode: 0o600, overwrite: o.force ?? false, dirMode: 0o700 });
  }
  // Hashes only; Redis (often another user) must read it: 0640, give the group to redis-server's user.
  await writeFileAtomic(aclFile, aclFileText(users.map((u) => ({ ...u, passwordHash: redisPasswordHash(u.password) })), { cluster: o.cluster === true }), { mode: 0o640, overwrite: o.force ?? false, dirMode: 0o700 });
  return { aclFile, users: users.map(({ password: _, ...u }) => u), notExpanded: plan.notExpanded };
}
