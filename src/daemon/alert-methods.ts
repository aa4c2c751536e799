/** `alerts {limit?}` and `subscribe {topics?}` over the AlertCenter. */
import { Type } from '@sinclair/typebox';
import type { RpcServer } from '../rpc/server.js';
import type { AlertCenter } from './alerts.js';

const MAX_LIMIT = 1000;

export function registerAlertMethods(server: RpcServer, center: AlertCenter): void {
  server.method({
    name: 'alerts',
    permission: 'alerts',
    params: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })) }, { additionalProperties: false }),
    handler: ({ limit }) => ({ alerts: center.recent(limit ?? 50), counts: center.counts }),
  });
  server.method({
    name: 'subscribe',
    permission: 'subscribe',
    params: Type.Object({
      topics: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 })),
    }, { additionalProperties: false }),
    handler: ({ topics }, ctx) => {
      const conn = ctx.connection;
      const unsubscribe = center.subscribe({
        ...(topics && topics.length ? { topics: new Set(topics) } : {}),
        send: (method, params) => ctx.notify(method, params),
        backlog: () => conn.bufferedBytes(),
        drop: () => conn.close(),
      });
      conn.keepAlive(true);
      conn.onClose(unsubscribe);
      return { subscribed: true, topics: topics ?? [] };
    },
  });
}
