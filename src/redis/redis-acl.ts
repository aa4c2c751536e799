/**
 * Redis's own ACL as the second line behind the signed envelopes: one Redis user per identity the policy's
 * channel ACL names, allowed only its channels and only the pub/sub commands it needs, and the `default`
 * user switched off. Pure: {@link redisAclUsers} decides the users, {@link aclFileText} renders a Redis
 * `aclfile` (redis.conf `aclfile`, `ACL LOAD`); `acl-files.ts` writes it with per-identity credentials.
 *
 * Who gets a user: every `spiffeId` named in a channel rule, every `spiffeId` binding whose roles a channel
 * rule names, and the IDs given explicitly (`identities`, e.g. members of a `spiffeIdPrefix`, which cannot be
 * enumerated). Each user's channels are the rules matching it by ID, prefix or role (roles from the policy's
 * bindings, as flymed gives them), publish and subscribe together: Redis 7.0 channel permissions (`&pattern`)
 * apply to PUBLISH and SUBSCRIBE alike, so only the commands are split (a publish-only user has no SUBSCRIBE).
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../auth/policy/policy.js';
import { flymeError } from '../errors.js';
import { SpiffeId } from '../identity/spiffe-id.js';

/** One Redis ACL user for one SPIFFE ID. */
export interface RedisAclUser {
  spiffeId: string;
  username: string;
  /** Channels (FlyMe globs) it may publish on / subscribe to under the channel ACL. */
  publish: string[];
  subscribe: string[];
}

export interface RedisAclPlan {
  users: RedisAclUser[];
  /** Selectors that cannot be expanded into users (prefixes), each as a sentence for the operator. */
  notExpanded: string[];
}

/** Commands a publisher / subscriber needs (AUTH, HELLO and QUIT need no grant: Redis lets every user run them). */
export const PUBLISH_COMMANDS = ['+publish', '+spublish'] as const;
export const SUBSCRIBE_COMMANDS = ['+subscribe', '+psubscribe', '+ssubscribe', '+unsubscribe', '+punsubscribe', '+sunsubscribe'] as const;
/**
 * What a Redis Cluster client also needs (`cluster: true`): reading the topology, which node-redis asks with
 * CLUSTER SLOTS (CLUSTER SHARDS is its successor). Only these two subcommands: CLUSTER's others change the cluster.
 */
export const CLUSTER_COMMANDS = ['+cluster|slots', '+cluster|shards'] as const;

/**
 * A stable, valid Redis username for a SPIFFE ID: the ID without `spiffe://`, characters other than
 * `A-Za-z0-9._-` as `_`, at most 64 of them, then `-` and 12 hex digits of the ID's SHA-256 (two IDs never
 * share a name). Safe as a file name too.
 * @example redisUsername('spiffe://flyme.local/orders') // 'flyme.local_orders-<12 hex>'
 */
export function redisUsername(spiffeId: string): string {
  const slug = spiffeId.replace(/^spiffe:\/\//, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return `${slug}-${createHash('sha256').update(spiffeId).digest('hex').slice(0, 12)}`;
}

/** A FlyMe channel glob as a Redis ACL channel pattern token (`&…`). */
function redisChannelPattern(channel: string): string {
  // The aclfile is split like redis.conf: a quote anywhere opens a quoted string; Redis globs escape with `\`.
  if (/["']/.test(channel)) throw flymeError('FLYME_INVALID_CONFIG', `channel ${JSON.stringify(channel)} contains a quote, which a Redis ACL file cannot hold unquoted; rename the channel`, { channel });
  return `&${channel.replace(/\\/g, '\\\\')}`;
}

/** The users for a policy's channel ACL (sorted by SPIFFE ID). Throws FLYME_INVALID_CONFIG for an ID that may use no channel. */
export function redisAclUsers(policy: Policy, o: { identities?: readonly string[] } = {}): RedisAclPlan {
  const rules = policy.document.channels ?? [];
  const ids = new Set<string>();
  const channelRoles = new Set<string>();
  const notExpanded: string[] = [];
  for (const r of rules) {
    for (const kind of ['publish', 'subscribe'] as const) {
      for (const s of r[kind] ?? []) {
        if ('spiffeId' in s) ids.add(s.spiffeId);
        else if ('role' in s) channelRoles.add(s.role);
        else notExpanded.push(`${kind} ${r.channel}: IDs under ${s.spiffeIdPrefix} get a user only when named with --identity`);
      }
    }
  }
  for (const b of policy.document.bindings ?? []) {
    if (!b.roles.some((r) => channelRoles.has(r))) continue;
    if (b.spiffeId !== undefined) ids.add(b.spiffeId);
    else if (b.spiffeIdPrefix !== undefined) notExpanded.push(`roles ${b.roles.filter((r) => channelRoles.has(r)).join(', ')} of IDs under ${b.spiffeIdPrefix} (binding): a user only when named with --identity`);
  }
  const explicit = new Set<string>();
  for (const id of o.identities ?? []) {
    ids.add(SpiffeId.parse(id).toString());
    explicit.add(id);
  }
  const users: RedisAclUser[] = [];
  for (const spiffeId of [...ids].sort()) {
    const grants = policy.channels.grantsOf({ spiffeId, roles: policy.rolesOfSpiffeId(spiffeId) });
    if (grants.length === 0) {
      if (explicit.has(spiffeId)) throw flymeError('FLYME_INVALID_CONFIG', `${spiffeId} may use no channel under the policy's channels section`, { spiffeId });
      continue; // never for an ID named by a rule or bound to a role a rule names
    }
    for (const g of grants) redisChannelPattern(g.channel); // refuse an unrepresentable channel before anything is written
    users.push({
      spiffeId, username: redisUsername(spiffeId),
      publish: grants.filter((g) => g.publish).map((g) => g.channel),
      subscribe: grants.filter((g) => g.subscribe).map((g) => g.channel),
    });
  }
  return { users, notExpanded };
}

/** SHA-256 of a password in hex: how Redis stores it (`#<hex>` in an ACL rule). */
export function redisPasswordHash(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

/**
 * The aclfile: `user default off …`, then one line per user with its password hash, `resetchannels`, its
 * channel patterns, `-@all` and only the pub/sub commands it needs (with `cluster`, also the topology reads a
 * cluster client makes: {@link CLUSTER_COMMANDS}). Redis 7.0 aclfiles cannot hold comments.
 */
export function aclFileText(users: ReadonlyArray<RedisAclUser & { passwordHash: string }>, o: { cluster?: boolean } = {}): string {
  const lines = ['user default off resetpass resetkeys resetchannels -@all'];
  for (const u of users) {
    const channels = [...new Set([...u.publish, ...u.subscribe])].sort().map(redisChannelPattern);
    const cmds = [...(u.publish.length ? PUBLISH_COMMANDS : []), ...(u.subscribe.length ? SUBSCRIBE_COMMANDS : []), '+ping', ...(o.cluster ? CLUSTER_COMMANDS : [])];
    lines.push(`user ${u.username} reset on #${u.passwordHash} resetchannels ${channels.join(' ')} -@all ${cmds.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
