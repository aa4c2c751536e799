/** The reference daemon's methods: ping, whoami, status. */
import { Type } from '@sinclair/typebox';
import { describePrincipal } from '../auth/principal.js';
import type { RpcServer } from '../rpc/server.js';
import { VERSION } from '../version.js';

export { VERSION };

export function registerCoreMethods(server: RpcServer, statusExtras: () => Record<string, unknown> = () => ({})): void {
  server.method({
    name: 'ping',
    permission: 'ping',
    params: Type.Object({ message: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
    handler: ({ message }) => ({ message: message ?? 'pong', time: new Date().toISOString() }),
  });
  server.method({
    name: 'whoami',
    permission: 'whoami',
    params: Type.Object({}, { additionalProperties: false }),
    handler: (_p, ctx) => describePrincipal(ctx.principal),
  });
  server.method({
    name: 'status',
    permission: 'status',
    params: Type.Object({}, { additionalProperties: false }),
    handler: () => ({
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - server.startedAt) / 1000),
      listeners: server.listenerAddresses,
      connections: server.stats.connections,
      connectionsTotal: server.stats.connectionsTotal,
      requestsServed: server.stats.requestsServed,
      refusedConnections: server.stats.refused,
      deniedCalls: server.stats.denied,
      limits: server.limits,
      ...statusExtras(),
    }),
  });
}
