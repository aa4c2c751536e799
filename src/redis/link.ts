/**
 * What SecureRedis needs from Redis, whether one server (`nodeLink`, here) or a Redis Cluster (cluster.ts):
 * publish a signed envelope, and deliver raw messages of a channel or pattern (`*`) to a listener.
 * Errors are node-redis's own; SecureRedis turns them into FlyMeErrors.
 */
import type { RedisClientType } from '@redis/client';

/** Called with each raw message and the channel Redis delivered it on. */
export type RawListener = (message: string, channel: string) => void;

export interface PubSubLink {
  /** Resolves with the number of Redis subscribers that received it. `broadcast`: classic PUBLISH on a cluster. */
  publish(channel: string, message: string, o: { broadcast?: boolean }): Promise<number>;
  subscribe(channel: string, listener: RawListener): Promise<void>;
  unsubscribe(channel: string, listener: RawListener): Promise<void>;
  close(): Promise<void>;
}

export const isPattern = (channel: string): boolean => channel.includes('*');

/** One redis-server: publish on the connected client, subscribe on a duplicate opened on first use. */
export function nodeLink(client: RedisClientType): PubSubLink {
  let subscriber: Promise<RedisClientType> | undefined;
  const sub = () => subscriber ??= (async () => {
    const s = client.duplicate();
    s.on('error', () => { /* reconnects and resubscribes */ });
    try {
      return await s.connect();
    } catch (e) {
      subscriber = undefined;
      throw e;
    }
  })();
  return {
    publish: (channel, message) => client.publish(channel, message),
    subscribe: async (channel, listener) => {
      const s = await sub();
      await (isPattern(channel) ? s.pSubscribe(channel, listener) : s.subscribe(channel, listener));
    },
    unsubscribe: async (channel, listener) => {
      if (!subscriber) return;
      const s = await subscriber;
      if (!s.isOpen) return;
      await (isPattern(channel) ? s.pUnsubscribe(channel, listener) : s.unsubscribe(channel, listener));
    },
    close: async () => {
      const s = subscriber && await subscriber.catch(() => undefined);
      await s?.close().catch(() => {});
      await client.close();
    },
  };
}
