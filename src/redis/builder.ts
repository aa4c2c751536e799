/**
 * The IntelliRouter-style builder: `.withTls(certsDir)`, `.withCredentials(file)`, `.withJwt(issuer, subject, roles)`, `.withAcl(acl)`,
 * `.withCluster(seeds)`, `.build(url)`: a thin convenience over `SecureRedis.connect`.
 */
import type { TokenIssuer } from '../auth/jwt/issuer.js';
import type { ChannelAcl } from '../auth/policy/channels.js';
import type { Policy } from '../auth/policy/policy.js';
import type { SecurityEventSink } from '../auth/events.js';
import { flymeError } from '../errors.js';
import type { X509Source } from '../identity/source/types.js';
import { SecureRedis, type SecureRedisOptions } from './client.js';
import type { RedisCredentials } from './credentials.js';
import type { ClusterOptions } from './cluster.js';

export class SecureRedisClientBuilder {
  #o: Partial<SecureRedisOptions> = {};

  /** The identity: a `flyme certs` directory (with `name`, default `client`) or an X509Source. */
  withTls(identity: string | X509Source, o: { name?: string; serverId?: string } = {}): this {
    this.#o = { ...this.#o, ...(typeof identity === 'string' ? { certsDir: identity } : { source: identity }), ...o };
    return this;
  }

  /** Carry a token (subject, roles) in every envelope, minted by `issuer` and refreshed every `ttlSeconds / 2`. */
  withJwt(issuer: TokenIssuer, subject: string, roles: readonly string[], o: { audience: string; ttlSeconds?: number }): this {
    const ttl = o.ttlSeconds ?? 300;
    let cached: { token: string; renewAt: number } | undefined;
    this.#o.jwt = async () => {
      if (!cached || cached.renewAt < Date.now()) cached = { token: await issuer.issue({ sub: subject, aud: o.audience, roles, ttlSeconds: ttl }), renewAt: Date.now() + (ttl * 1000) / 2 };
      return cached.token;
    };
    return this;
  }

  /** Log in as the identity's Redis ACL user: `{username, password}` or a `flyme redis acl` credentials file. */
  withCredentials(credentials: RedisCredentials | string): this {
    this.#o.credentials = credentials;
    return this;
  }

  withAcl(acl: ChannelAcl | (() => ChannelAcl)): this {
    this.#o.acl = acl;
    return this;
  }

  /** flymed's policy (or a getter following reloads): its channel ACL, and the roles its bindings give IDs. */
  withPolicy(policy: Policy | (() => Policy)): this {
    this.#o.policy = policy;
    return this;
  }

  /** A Redis Cluster reached through these seed nodes (`rediss://host:port`); `build()` then needs no URL. */
  withCluster(seeds: readonly string[], o: Omit<ClusterOptions, 'seeds'> = {}): this {
    if (seeds.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'withCluster needs at least one seed URL (rediss://host:port)');
    this.#o.cluster = { ...o, seeds: [...seeds] };
    return this;
  }

  withEvents(events: SecurityEventSink): this {
    this.#o.events = events;
    return this;
  }

  /** Connect to `url`, or, after withCluster, to the cluster (`url`, if given, is one more seed). */
  async build(url?: string): Promise<SecureRedis> {
    const { certsDir, source, acl, policy, cluster } = this.#o;
    if (!certsDir && !source) throw flymeError('FLYME_INVALID_CONFIG', 'call withTls(certsDir or source) first: FlyMe Redis clients always present a certificate');
    if (!acl && !policy) throw flymeError('FLYME_INVALID_CONFIG', 'call withPolicy(policy) or withAcl(acl) first (e.g. Policy.load(file))');
    if (cluster) return SecureRedis.connect({ ...this.#o, url: url ?? cluster.seeds![0]! }); // seeds are deduplicated
    if (url === undefined) throw flymeError('FLYME_INVALID_CONFIG', 'build(url) needs the Redis URL (or call withCluster(seeds) first)');
    return SecureRedis.connect({ ...this.#o, url });
  }
}
