/**
 * `flyme agent`: the Workload API on a Unix socket (mode 0666 in a 0755 directory: callers are identified by
 * the kernel, never by the socket's permissions), fed by a remote CA or, with `--ca local`, by a CA running
 * in this process (whose admin socket then serves `flyme ca entry …`).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SecurityEventSink } from '../../auth/events.js';
import { Authority } from '../../ca/authority.js';
import { caFiles, initCaDir } from '../../ca/material.js';
import { serveCa, type CaServer } from '../../ca/server.js';
import { flymeError } from '../../errors.js';
import { createLocalServer } from '../../grpc/local-server.js';
import { serviceOf } from '../../grpc/proto-files.js';
import { Agent } from './agent.js';
import type { CaLink } from './ca-link.js';
import { localCaLink } from './local-link.js';
import { remoteCaLink } from './remote-link.js';
import { WORKLOAD_METHODS, workloadApiHandlers } from './workload-api.js';

export interface RunAgentOptions {
  /** Workload API socket, `unix:///run/flyme/agent.sock`. */
  socket: string;
  /** `local`, or the CA's URL (`tls://host:port`, `unix+tls:///path`). */
  ca: string;
  dataDir: string;
  joinToken?: string;
  trustBundlePath?: string;
  /** `--ca local`: the trust domain of a CA created on first start. */
  trustDomain?: string;
  /** `--ca local`: this agent's ID (default spiffe://TD/agent/local). */
  agentId?: string;
  /** `--ca local`: the CA's admin socket. */
  caAdminSocket?: string;
  events?: SecurityEventSink;
  warn?(message: string): void;
}

export interface RunningAgent {
  agent: Agent;
  /** The SPIFFE_ENDPOINT_SOCKET value. */
  endpoint: string;
  agentId: string;
  close(): Promise<void>;
}

export async function runAgent(o: RunAgentOptions): Promise<RunningAgent> {
  if (!/^unix:\/\/\//.test(o.socket)) throw flymeError('FLYME_INVALID_ADDRESS', `${o.socket}: the Workload API listens on unix:///absolute/path only`);
  let link: CaLink;
  let authority: Authority | undefined;
  let admin: CaServer | undefined;
  const warn = o.warn ?? (() => undefined);
  if (o.ca === 'local') {
    const dir = join(o.dataDir, 'ca');
    if (!existsSync(caFiles(dir).root)) {
      if (!o.trustDomain) throw flymeError('FLYME_INVALID_CONFIG', `no CA in ${dir} yet: give --trust-domain to create one`);
      await initCaDir(dir, { trustDomain: o.trustDomain });
    }
    authority = await Authority.open({ dataDir: dir, ...(o.events ? { events: o.events } : {}), warn });
    link = await localCaLink(authority, o.agentId ?? `spiffe://${authority.trustDomain}/agent/local`);
    if (o.caAdminSocket) admin = await serveCa({ authority, listen: [], adminSocket: o.caAdminSocket, ...(o.events ? { events: o.events } : {}) });
  } else {
    link = await remoteCaLink({ caUrl: o.ca, dataDir: o.dataDir, ...(o.joinToken ? { joinToken: o.joinToken } : {}), ...(o.trustBundlePath ? { trustBundlePath: o.trustBundlePath } : {}), warn });
  }
  const agent = new Agent(link, warn);
  const server = createLocalServer({
    methods: {}, publicMethods: WORKLOAD_METHODS, pinPeers: true, socketMode: 0o666, dirMode: 0o755, events: o.events,
    // Workload API requests are tiny; bound what one local caller can make the agent buffer or hold open.
    serverOptions: { 'grpc.max_receive_message_length': 64 * 1024, 'grpc.max_concurrent_streams': 32, 'grpc.max_connection_idle_ms': 60_000 },
  });
  server.server.addService(serviceOf('workload.proto', 'SpiffeWorkloadAPI').service, workloadApiHandlers(agent, server.peers));
  try {
    await server.bind(o.socket);
  } catch (err) {
    await agent.close();
    await admin?.close();
    authority?.close();
    throw err;
  }
  // The socket is 0666 by design; a directory others cannot search hides it from their workloads.
  const dir = dirname(o.socket.slice('unix://'.length));
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o001) === 0) warn(`workloads of other users cannot reach ${o.socket}: its directory ${dir} has mode 0${mode.toString(8)} (make it 0755, or use another --socket)`);
  return {
    agent,
    endpoint: o.socket,
    agentId: link.agentId,
    close: async () => {
      await server.shutdown(1000);
      await agent.close();
      await admin?.close();
      authority?.close();
    },
  };
}
