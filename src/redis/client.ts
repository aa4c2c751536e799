/**
 * SecureRedis: pub/sub over `rediss://` with the workload's FlyMe certificate as the TLS client
 * certificate, signed envelopes on publish, and verified delivery on subscribe (see envelope.ts).
 *
 * @example
 * const r = await SecureRedis.connect({ url: 'rediss://127.0.0.1:6380', certsDir: './certs', acl })
 * await r.publish('orders.eu', JSON.stringify(order), { contentType: 'application/json' })
 * for await (const m of await r.subscribe('orders.*')) console.log(m.from, m.payload)
 */
import type { SecureContext } from 'node:tls';
import { createClient, type RedisClientType } from '@redis/client';
import { ignoreSecurityEvents, type SecurityEventSink } from '../auth/events.js';
import { ChannelAcl } from '../auth/policy/channels.js';
import { FlyMeError, flymeError } from '../errors.js';
import { authorizeId, authorizeMemberOf, type Authorizer } from '../identity/authorizer.js';
import { certsDirSource } from '../identity/source/files.js';
import type { X509Source, X509Svid } from '../identity/source/types.js';
import { clientContext } from '../identity/tls/contexts.js';
import { spiffeServerIdentity } from '../identity/tls/server-identity.js';
import type { Policy } from '../auth/policy/policy.js';
import { policyGetter } from '../auth/policy/getter.js';
import { DEFAULT_MAX_MESSAGE_BYTES, EnvelopeVerifier, MessageRejected, sealEnvelope, signerFromPem, type Signer, type VerifiedMessage } from './envelope.js';
import { Subscription } from './subscription.js';
import { PublishBatcher } from './batcher.js';
import { givesUpBeforeReady, isRedisAuthError, redisLoginError, redisLoginOptions, type RedisCredentials } from './credentials.js';
import { nodeLink, type PubSubLink, type RawListener } from './link.js';
import { clusterSeeds, connectCluster, type ClusterOptions } from './cluster.js';

/** A node-redis failure as a FlyMeError (the library's own error classes never reach FlyMe's users). */
function redisError(what: string, e: unknown): FlyMeError {
  if (e instanceof FlyMeError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/^NOPERM/.test(message)) return flymeError('FLYME_PERMISSION_DENIED', `Redis refused ${what}: ${message}`, { redis: 'NOPERM' }, e);
  const closed = /closed|disconnect|socket/i.test(message) || (e as { name?: string })?.name === 'ClientClosedError';
  return flymeError(closed ? 'FLYME_CONNECTION_CLOSED' : 'FLYME_PROTOCOL_ERROR', `Redis ${what} failed: ${message}`, { redis: (e as { name?: string })?.name ?? 'Error' }, e);
}

/** Who may do what on which channel, and the roles the policy's bindings give a SPIFFE ID: read once from the options. */
interface ChannelAccess {
  acl(): ChannelAcl;
  rolesOf(spiffeId: string): string[];
}

function channelAccess(o: Pick<SecureRedisOptions, 'acl' | 'policy'>): ChannelAccess {
  const policy = policyGetter(o.policy);
  const rolesOf = policy ? (id: string) => policy().rolesOfSpiffeId(id) : () => [];
  if (o.acl) return { acl: typeof o.acl === 'function' ? o.acl : () => o.acl as ChannelAcl, rolesOf };
  if (policy) return { acl: () => policy().channels, rolesOf };
  throw flymeError('FLYME_INVALID_CONFIG', 'SecureRedis needs a channel ACL: acl or policy (e.g. Policy.load(file))');
}

export interface SecureRedisOptions {
  /** `rediss://host:port` (`redis://` only with allowInsecure); with `cluster`, the first seed node. */
  url: string;
  /** A Redis Cluster (sharded pub/sub for exact channels; see cluster.ts and docs/redis.md). */
  cluster?: ClusterOptions;
  /** The workload's identity: an X509Source (e.g. the Workload API); rotation reaches reconnects and signatures … */
  source?: X509Source;
  /** … or a `flyme certs` directory; the identity `name` (default `client`): NAME.pem, NAME.key.pem, root-ca.pem. */
  certsDir?: string;
  name?: string;
  /** The Redis server's SPIFFE ID, or an authorizer (default: any ID of our trust domain). */
  serverId?: string | Authorizer;
  /** Who may publish/subscribe where (e.g. `Policy.load(file).channels`); a function is read per message. */
  acl?: ChannelAcl | (() => ChannelAcl);
  /**
   * flymed's policy (or a getter following reloads), instead of `acl`: its `channels` section is the ACL, and
   * the roles its bindings give a SPIFFE ID count for `role:` selectors — the same principal and roles that
   * flymed and flyme/grpc decide on, plus the roles of a verified token in the envelope.
   */
  policy?: Policy | (() => Policy);
  /** A token carried in every envelope we publish (its roles count for the ACL at subscribers). */
  jwt?: string | (() => Promise<string>);
  /** Verify tokens in incoming envelopes; returns the roles they grant. */
  tokenRoles?(jwt: string, from: string): Promise<string[]>;
  events?: SecurityEventSink;
  /**
   * Log in as this identity's Redis ACL user: `{username, password}`, or the path of the credentials file
   * `flyme redis acl` wrote (re-read at each reconnection; refused if it names another SPIFFE ID or others may read it).
   */
  credentials?: RedisCredentials | string;
  /** Required for `redis://`: plain text, no client certificate (a warning is emitted). */
  allowInsecure?: boolean;
  windowSeconds?: number;
  maxMessageBytes?: number;
  /**
   * Publishes issued in the same tick to the same channel share one signed batch envelope (v2) and one Redis
   * PUBLISH (default true). Subscribers of FlyMe before batch envelopes refuse those as `malformed`: set false
   * (one v1 envelope per message) until every subscriber is upgraded. See docs/redis.md.
   */
  batch?: boolean;
  /** Messages buffered per subscription before the oldest are dropped (default 1000). */
  maxQueued?: number;
  /** Called for each rejected message (also reported to `events`). */
  onRejected?(e: MessageRejected, channel: string): void;
}

export class SecureRedis {
  readonly stats = { published: 0, delivered: 0, rejected: {} as Record<string, number> };
  readonly #subs = new Set<Subscription>();

  readonly #signers = new WeakMap<X509Svid, Signer>();
  readonly #batcher: PublishBatcher;

  private constructor(private readonly o: SecureRedisOptions, readonly source: X509Source, private readonly ownsSource: boolean, private readonly link: PubSubLink, private readonly verifier: EnvelopeVerifier, private readonly access: ChannelAccess) {
    this.#batcher = new PublishBatcher({
      signer: () => this.#signer,
      send: (channel, envelope, broadcast) => this.link.publish(channel, envelope, { broadcast }),
      maxBytes: o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    });
  }

  /** The signer of the SVID in force (a rotation brings a new key and x5c for the next message). */
  get #signer(): Signer {
    const svid = this.source.svid();
    let s = this.#signers.get(svid);
    if (!s) this.#signers.set(svid, (s = signerFromPem(svid.spiffeId.toString(), svid.certPem, svid.keyPem)));
    return s;
  }

  static async connect(o: SecureRedisOptions): Promise<SecureRedis> {
    const url = new URL(o.url);
    const insecure = url.protocol === 'redis:';
    if (!insecure && url.protocol !== 'rediss:') throw flymeError('FLYME_INVALID_ADDRESS', `${o.url}: use rediss://host:port`);
    if (insecure && !o.allowInsecure) throw flymeError('FLYME_INVALID_CONFIG', `${o.url} is plain text without a client certificate; use rediss:// (or set allowInsecure: true explicitly)`);
    if (!o.source && !o.certsDir) throw flymeError('FLYME_INVALID_CONFIG', 'SecureRedis needs an identity: source or certsDir');
    const access = channelAccess(o); // before anything is opened: a missing ACL is a configuration error
    const login = redisLoginOptions(o.credentials, () => source.svid().spiffeId.toString()); // likewise malformed credentials
    const seeds = o.cluster ? clusterSeeds(o.url, o.cluster) : [o.url];
    const source = o.source ?? await certsDirSource(o.certsDir!, o.name ?? 'client');
    const td = source.svid().spiffeId.trustDomain;
    const serverAuthorizer = typeof o.serverId === 'function' ? o.serverId : o.serverId ? authorizeId(o.serverId) : authorizeMemberOf(td);
    const events = o.events ?? ignoreSecurityEvents;
    if (insecure) {
      process.emitWarning(`flyme/redis: ${o.url} is plain text: no TLS, no client certificate (allowInsecure)`);
      events.emit({ kind: 'unauthenticated', severity: 'warning', source: 'redis', message: `insecure Redis connection to ${url.host} (allowInsecure)`, subject: o.url });
    }
    let ready = false;
    const retry = (n: number, cause: unknown): number | false => (!ready && givesUpBeforeReady(cause) ? false : backoff(n)); // false: connect() rejects with the cause
    const socket = insecure ? { reconnectStrategy: retry } : {
      tls: true as const,
      secureContext: followingContext(source), minVersion: 'TLSv1.3' as const,
      // The server proves a SPIFFE ID (URI SAN), checked by an authorizer, not a host name.
      checkServerIdentity: spiffeServerIdentity(serverAuthorizer),
      reconnectStrategy: retry,
    };
    const loginFailed = (e: unknown): FlyMeError | undefined =>
      (isRedisAuthError(e) ? redisLoginError(url.host, typeof o.credentials === 'string' ? `the user in ${o.credentials}` : o.credentials?.username, e as Error) : undefined);
    let link: PubSubLink;
    if (o.cluster) {
      try {
        // The login goes to every node (node defaults), not only to the seeds.
        link = await connectCluster(seeds, { socket, ...login }, o.cluster);
        ready = true;
      } catch (e) {
        if (!o.source) source.close();
        if (e instanceof FlyMeError) throw e;
        throw loginFailed(e) ?? flymeError('FLYME_UNREACHABLE', `cannot reach the Redis Cluster through ${seeds.map((x) => new URL(x).host).join(', ')}: ${(e as Error).message}`);
      }
    } else {
      const client = createClient({ url: o.url, ...login, socket }) as RedisClientType;
      client.on('error', () => { /* reconnects; connect() reports the first failure */ });
      try {
        await client.connect();
        ready = true;
      } catch (e) {
        try { client.destroy(); } catch { /* already closed */ }
        if (!o.source) source.close();
        if (e instanceof FlyMeError) throw e;
        throw loginFailed(e) ?? flymeError('FLYME_UNREACHABLE', `cannot connect to ${url.host}: ${(e as Error).message}`);
      }
      link = nodeLink(client);
    }
    const verifier = new EnvelopeVerifier({
      bundle: () => source.bundle(), acl: access.acl, rolesOf: access.rolesOf,
      ...(o.windowSeconds ? { windowSeconds: o.windowSeconds } : {}),
      ...(o.maxMessageBytes ? { maxBytes: o.maxMessageBytes } : {}),
      ...(o.tokenRoles ? { tokenRoles: o.tokenRoles } : {}),
    });
    const { credentials: _secret, ...kept } = o; // the password stays in node-redis's credentials closure only
    return new SecureRedis(kept, source, !o.source, link, verifier, access);
  }

  get spiffeId(): string {
    return this.source.svid().spiffeId.toString();
  }

  /** Who we are to the ACL: our SPIFFE ID and the roles the policy's bindings give it. */
  get #self(): { spiffeId: string; roles: string[] } {
    const spiffeId = this.spiffeId;
    return { spiffeId, roles: this.access.rolesOf(spiffeId) };
  }

  /**
   * Sign and publish; resolves with the number of Redis subscribers that received it. On a cluster, the
   * message goes to its channel's shard (SPUBLISH), or cluster-wide with `broadcast` (PUBLISH: what pattern
   * subscribers receive).
   */
  async publish(channel: string, payload: string, o: { contentType?: string; broadcast?: boolean } = {}): Promise<number> {
    if (!this.access.acl().canPublish(this.#self, channel) && this.o.jwt === undefined) {
      throw flymeError('FLYME_PERMISSION_DENIED', `${this.spiffeId} may not publish to ${channel} under the channel ACL`, { channel });
    }
    const jwt = typeof this.o.jwt === 'function' ? await this.o.jwt() : this.o.jwt;
    let n: number;
    if (this.o.batch === false) {
      const env = await sealEnvelope(this.#signer, channel, payload, { ...(o.contentType ? { contentType: o.contentType } : {}), ...(jwt ? { jwt } : {}), ...(this.o.maxMessageBytes ? { maxBytes: this.o.maxMessageBytes } : {}) });
      n = await this.link.publish(channel, env, { broadcast: o.broadcast === true }).catch((e: unknown) => { throw redisError('publish', e); });
    } else {
      n = await this.#batcher.publish(channel, payload, { ...(o.contentType ? { contentType: o.contentType } : {}), ...(jwt ? { jwt } : {}), broadcast: o.broadcast === true })
        .catch((e: unknown) => { throw redisError('publish', e); });
    }
    this.stats.published++;
    return n;
  }

  /** Subscribe to a channel or pattern (`*`); fails fast with FLYME_PERMISSION_DENIED when the ACL does not allow it. */
  async subscribe(channel: string): Promise<Subscription> {
    if (!this.access.acl().canSubscribe(this.#self, channel)) {
      throw flymeError('FLYME_PERMISSION_DENIED', `${this.spiffeId} may not subscribe to ${channel} under the channel ACL`, { channel });
    }
    const sub: Subscription = new Subscription(this.o.maxQueued ?? 1000, (): Promise<void> => this.#unsubscribe(sub, channel, listener));
    const events = this.o.events ?? ignoreSecurityEvents;
    // Envelopes are verified concurrently, but delivered (or refused) in the order Redis delivered them: a
    // verification that takes longer (a signer chain not yet in the cache) must not let a later message pass it.
    let inOrder: Promise<void> = Promise.resolve();
    const listener: RawListener = (raw, arrivedOn) => {
      const opened = this.verifier.openAll(raw, arrivedOn);
      opened.catch(() => undefined); // handled below, in order; not an unhandled rejection meanwhile
      inOrder = inOrder.then(() => opened).then((ms: VerifiedMessage[]) => {
        for (const m of ms) {
          this.stats.delivered++;
          sub.push(m);
        }
      }, (e: unknown) => {
        const r = e instanceof MessageRejected ? e : new MessageRejected('malformed', (e as Error).message);
        this.stats.rejected[r.reason] = (this.stats.rejected[r.reason] ?? 0) + 1;
        events.emit({ kind: 'message_rejected', severity: 'warning', source: 'redis', message: r.message, subject: arrivedOn, reason: r.reason, decision: 'deny', ...(r.from ? { principal: { cert: { spiffeId: r.from } } } : {}) });
        this.o.onRejected?.(r, arrivedOn);
      }).catch(() => undefined); // a throwing onRejected hook must not stop later deliveries
    };
    await this.link.subscribe(channel, listener).catch((e: unknown) => { throw redisError('subscribe', e); });
    this.#subs.add(sub);
    return sub;
  }

  async #unsubscribe(sub: Subscription, channel: string, listener: RawListener): Promise<void> {
    this.#subs.delete(sub);
    await this.link.unsubscribe(channel, listener).catch(() => {});
  }

  async close(): Promise<void> {
    for (const s of this.#subs) s.end();
    await this.link.close().catch(() => {});
    if (this.ownsSource) this.source.close();
  }
}

/**
 * A `secureContext` for `tls.connect` that is always the source's current one: node-redis keeps its socket
 * options for every reconnect, and Node reads `.context` when it creates each TLS socket, so a rotated SVID
 * or bundle reaches the next (re)connection.
 */
function followingContext(source: X509Source): SecureContext {
  return { get context() { return clientContext(source.material()).context; } } as SecureContext;
}

/** Reconnect after 100 ms, 200 ms, … up to 3 s between attempts, forever. */
function backoff(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 5), 3000);
}
