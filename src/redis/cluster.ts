/**
 * SecureRedis over a Redis Cluster (node-redis `createCluster`): the seeds are only asked for the topology;
 * every node connection (masters, sharded pub/sub connections, reconnections) uses the same socket options,
 * so each node is a mutual-TLS 1.3 connection whose certificate is checked by the same SPIFFE authorizer
 * (not a host name: nodes announced by IP address are checked like any other).
 *
 * Exact channels: SPUBLISH / SSUBSCRIBE (the channel's traffic stays on the shard of its hash slot); an exact
 * subscription also listens with classic SUBSCRIBE so it receives `broadcast` publishes. Patterns: classic
 * PSUBSCRIBE, which only sees classic PUBLISH (`broadcast: true`), delivered cluster-wide.
 *
 * Failover: a publish whose slot has no reachable master re-sends the *same* signed envelope (same nonce)
 * until `publishTimeoutMs`, then fails with FLYME_UNREACHABLE; a subscriber's replay cache refuses a second
 * copy, so a message is delivered at most once. Subscriptions move to the new master when the topology is
 * refreshed (node-redis resubscribes the listeners of a node that left the topology).
 */
import { createCluster, ErrorReply, type RedisClusterType } from '@redis/client';
import { FlyMeError, flymeError } from '../errors.js';
import { isRedisAuthError } from './credentials.js';
import { isPattern, type PubSubLink, type RawListener } from './link.js';

/** An announced node address (`host:port`, as in CLUSTER SLOTS) → where to connect instead. */
export type NodeAddressMap = Record<string, { host: string; port: number }> | ((address: string) => { host: string; port: number } | undefined);

export interface ClusterOptions {
  /** Further seed URLs besides `url` (same scheme); any reachable one gives the topology. */
  seeds?: string[];
  /** Where to connect for an announced node address (NAT, a managed cluster's private endpoints). */
  nodeAddressMap?: NodeAddressMap;
  /** How long `publish` re-sends the same envelope while its slot has no reachable master (default 10 s). */
  publishTimeoutMs?: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;

/** The distinct seed URLs of a cluster configuration, `url` first; each must use `url`'s scheme. */
export function clusterSeeds(url: string, o: ClusterOptions): string[] {
  const scheme = new URL(url).protocol;
  const seeds = [...new Set([url, ...(o.seeds ?? [])])];
  for (const s of seeds) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw flymeError('FLYME_INVALID_ADDRESS', `${s}: not a URL; use rediss://host:port`);
    }
    if (u.protocol !== scheme || !u.port) throw flymeError('FLYME_INVALID_ADDRESS', `${s}: every cluster seed must be ${scheme}//host:port like ${url}`);
  }
  const timeout = o.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout < 0) throw flymeError('FLYME_INVALID_CONFIG', `publishTimeoutMs must be a whole number of milliseconds ≥ 0, not ${String(timeout)}`);
  return seeds;
}

/** Errors after which the same envelope is sent again: the node is gone or the cluster is between masters. */
function transient(e: unknown): boolean {
  if (e instanceof ErrorReply) return /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)/.test(e.message);
  return !(e instanceof FlyMeError); // connection errors (offline, closed by a topology refresh, socket reset)
}

/** Reconnect after 100 ms, 200 ms, … up to 1 s: each attempt is also what triggers a topology refresh. */
function clusterBackoff(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 4), 1000);
}

/**
 * What the seeds answered, when that is why no topology was read: a user without the CLUSTER SLOTS grant is a
 * FLYME_PERMISSION_DENIED naming `flyme redis acl --cluster`; a refused login is returned as Redis's answer
 * (the caller maps it as a single server's); anything else is left to the caller's "cannot reach".
 */
function seedsRefused(answer: ErrorReply | undefined): Error | undefined {
  if (answer === undefined) return undefined;
  if (/^NOPERM\b/.test(answer.message) && /cluster\|(slots|shards)/i.test(answer.message)) {
    return flymeError('FLYME_PERMISSION_DENIED', `the Redis user may not read the cluster topology (CLUSTER SLOTS): ${answer.message}; `
      + 'write the ACL with `flyme redis acl --cluster` and load it on every node', { redis: 'NOPERM' }, answer);
  }
  return isRedisAuthError(answer) ? answer : undefined;
}

/**
 * Connect to the cluster through `seeds`. `node` holds the node-redis client options every node connection
 * gets, as a single server's client would (`socket`: TLS, the authorizer; credentials, if any). Throws
 * node-redis's error when no seed answers, a seed's refusal when that is why (see seedsRefused).
 */
export async function connectCluster(seeds: string[], node: { socket: Record<string, unknown> } & Record<string, unknown>, o: ClusterOptions): Promise<PubSubLink> {
  const cluster = createCluster({
    rootNodes: seeds.map((url) => ({ url })),
    defaults: { ...node, socket: { ...node.socket, reconnectStrategy: clusterBackoff }, disableOfflineQueue: true },
    ...(o.nodeAddressMap ? { nodeAddressMap: o.nodeAddressMap } : {}),
    minimizeConnections: true, // connect to a master when a channel of its slots is used
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  }) as RedisClusterType;
  // While connecting, node-redis reports each seed's failure here and then only "All the root nodes are
  // unavailable": a seed's own answer (a refused login, a user without the topology grant) is kept to say why.
  let connecting = true;
  let answered: ErrorReply | undefined;
  cluster.on('error', (e: unknown) => {
    if (connecting && e instanceof ErrorReply) answered = e;
    // otherwise: topology refresh failures, retried on the next reconnection attempt
  });
  cluster.on('node-error', () => { /* a node's connection: reconnects */ });
  cluster.on('sharded-channel-moved-error', () => { /* the next topology refresh resubscribes */ });
  let closed = false;
  takeOverResubscription(cluster, () => closed);
  try {
    await cluster.connect();
  } catch (e) {
    cluster.destroy();
    throw seedsRefused(answered) ?? e;
  } finally {
    connecting = false;
  }
  const timeoutMs = o.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  return {
    publish: async (channel, message, { broadcast }) => {
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 0; ; attempt++) {
        try {
          return await (broadcast ? cluster.publish(channel, message) : cluster.sPublish(channel, message));
        } catch (e) {
          if (closed || !transient(e)) throw e;
          if (Date.now() >= deadline) {
            throw flymeError('FLYME_UNREACHABLE', `no Redis Cluster master took the message for ${channel} within ${timeoutMs} ms (${attempt + 1} attempts): ${(e as Error).message}`, { channel, attempts: attempt + 1 }, e);
          }
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(attempt, 4), 500)));
        }
      }
    },
    subscribe: async (channel, listener: RawListener) => {
      if (isPattern(channel)) return cluster.pSubscribe(channel, listener);
      await cluster.sSubscribe(channel, listener);
      try {
        await cluster.subscribe(channel, listener);
      } catch (e) {
        await cluster.sUnsubscribe(channel, listener).catch(() => {});
        throw e;
      }
    },
    unsubscribe: async (channel, listener) => {
      if (closed) return;
      if (isPattern(channel)) return cluster.pUnsubscribe(channel, listener);
      await Promise.all([cluster.sUnsubscribe(channel, listener), cluster.unsubscribe(channel, listener as Parameters<typeof cluster.unsubscribe>[1])]);
    },
    close: async () => {
      closed = true;
      await cluster.close();
    },
  };
}

/** node-redis's internal event: the listeners of a node that left the topology, to subscribe elsewhere. */
const RESUBSCRIBE = '__resubscribeListeners';
type Listeners = Map<string, { strings: Set<RawListener> }>;

/**
 * node-redis re-issues those subscriptions without awaiting them, so a failure there (the new master not
 * reachable yet) would be an unhandled rejection that ends the process. Re-issue them here instead, retrying
 * every 200 ms until they succeed or the link is closed. (Only when node-redis has exactly its own handler,
 * as in @redis/client 6; otherwise its behaviour is left as it is.)
 */
function takeOverResubscription(cluster: RedisClusterType, closed: () => boolean): void {
  if (cluster.listenerCount(RESUBSCRIBE) !== 1) return;
  cluster.removeAllListeners(RESUBSCRIBE);
  const again = (subscribe: () => Promise<unknown>) => {
    void (async () => {
      while (!closed()) {
        try {
          await subscribe();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  };
  cluster.on(RESUBSCRIBE, (all: { CHANNELS?: Listeners; PATTERNS?: Listeners; SHARDED?: Listeners }) => {
    for (const [channel, { strings }] of all.CHANNELS ?? []) for (const l of strings) again(() => cluster.subscribe(channel, l));
    for (const [pattern, { strings }] of all.PATTERNS ?? []) for (const l of strings) again(() => cluster.pSubscribe(pattern, l));
    for (const [channel, { strings }] of all.SHARDED ?? []) for (const l of strings) again(() => cluster.sSubscribe(channel, l));
  });
}
