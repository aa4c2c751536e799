/** The reference daemon's methods: ping, whoami, status. */
import { Type } from '@sinclair/typebox';
import { describePrincipal } from '../auth/principal.js';
import { flymeError } from '../errors.js';
import type { RpcServer } from '../rpc/server.js';
import { VERSION } from '../version.js';

export { VERSION };

/** The Prometheus text exposition `status` returns with `format: "prometheus"` (daemon/metrics). */
export interface PrometheusExposition {
  text(): Promise<string>;
  readonly contentType: string;
}

export function registerCoreMethods(server: RpcServer, statusExtras: () => Record<string, unknown> = () => ({}), prometheus?: PrometheusExposition): void {
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
  const statusReport = () => ({
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
  });
  const prometheusReport = async () => {
    if (!prometheus) throw flymeError('FLYME_INVALID_PARAMS', 'this server keeps no metrics: format "prometheus" is not available', { field: 'format' });
    return { format: 'prometheus', contentType: prometheus.contentType, text: await prometheus.text() };
  };
  server.method({
    name: 'status',
    permission: 'status',
    // format "prometheus": the metrics in the text exposition format instead (`flyme status --prometheus`),
    // under the same permission as the rest of status.
    params: Type.Object({ format: Type.Optional(Type.Literal('prometheus')) }, { additionalProperties: false }),
    handler: ({ format }) => (format === 'prometheus' ? prometheusReport() : statusReport()),
  });
}
