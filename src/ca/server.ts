/**
 * `flyme ca serve`: the Authority over gRPC. AgentCA on mutual TLS listeners (TCP or Unix, the CA's own
 * SVID `spiffe://TD/ca`, renewed at half its life), CAAdmin on a local Unix socket for root and the CA's own
 * user (kernel credentials) and over mTLS for `adminIds`; server reflection on both.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SecurityEventSink } from '../auth/events.js';
import { principalOf } from '../grpc/principal.js';
import { createLocalServer } from '../grpc/local-server.js';
import { loadProto, serviceOf } from '../grpc/proto-files.js';
import { createSecureServer } from '../grpc/server.js';
import { grpcError, unary } from '../grpc/status.js';
import { exportPrivateKeyPem, generateKeyPair } from '../identity/keys.js';
import { StaticX509Source } from '../identity/source/static.js';
import { parseSvid } from '../identity/svid.js';
import { TrustBundle } from '../identity/trust-bundle.js';
import type { Authority, AgentStateOut, IssuedOut } from './authority.js';
import type { Entry } from './entries.js';

const AGENT = '/flyme.ca.v1.AgentCA/';
const ADMIN = '/flyme.ca.v1.CAAdmin/';
const REFLECTION = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'];
const ADMIN_METHODS = ['CreateJoinToken', 'CreateEntry', 'ListEntries', 'DeleteEntry', 'GetStatus'];
/** Every CA message is small (a CSR is at most 16 KiB): bound what one peer can make the CA buffer. */
const CA_GRPC_LIMITS: grpc.ServerOptions = { 'grpc.max_receive_message_length': 64 * 1024, 'grpc.max_concurrent_streams': 64, 'grpc.max_connection_idle_ms': 60_000 };

export interface CaServerOptions {
  authority: Authority;
  /** mTLS listeners: `tls://host:port` or `unix+tls:///path`. */
  listen: readonly string[];
  /** `unix:///path` for CAAdmin by kernel credentials (mode 0600). */
  adminSocket?: string;
  /** SPIFFE IDs allowed to call CAAdmin over mTLS. */
  adminIds?: readonly string[];
  events?: SecurityEventSink;
  /** Lifetime of the CA's own serving SVID (default 3600 s). */
  servingTtlSeconds?: number;
}

export interface CaServer {
  /** Bound addresses (FlyMe URLs), TCP ports resolved. */
  addresses: string[];
  /** The CA's serving identity (absent when it serves only the admin socket). */
  source?: StaticX509Source;
  close(): Promise<void>;
}

type WireEntry = { id: string; spiffe_id: string; parent_id: string; selectors: Array<{ type: string; value: string }>; ttl_seconds: number; hint: string; created_at: number };
const wireEntry = (e: Entry): WireEntry => ({ id: e.id, spiffe_id: e.spiffeId, parent_id: e.parentId, selectors: e.selectors, ttl_seconds: e.ttlSeconds, hint: e.hint, created_at: e.createdAt });
const wireSvid = (s: IssuedOut) => ({ spiffe_id: s.spiffeId, cert_chain: s.chain.map((c) => Buffer.from(c)), expires_at: s.expiresAt });
const wireState = (s: AgentStateOut) => ({
  trust_domain: s.trustDomain, entries: s.entries.map(wireEntry), roots: s.roots.map((r) => Buffer.from(r)),
  crls: s.crls.map((c) => Buffer.from(c)), jwt_bundle: Buffer.from(s.jwtBundle),
});
const callerOf = (call: { metadata: grpc.Metadata }): string => principalOf(call).cert?.spiffeId ?? '';

/** The CA's serving identity: a key of its own and an SVID from its intermediate, renewed at half life. */
async function servingSource(a: Authority, ttl: number): Promise<{ source: StaticX509Source; stop(): void }> {
  const material = async () => {
    const keys = await generateKeyPair('P-256');
    const svid = await a.issueServerSvid(keys.publicKey, ttl);
    return { svids: [await parseSvid(svid.chainPem, await exportPrivateKeyPem(keys.privateKey))], bundle: TrustBundle.fromCertificates([a.root]) };
  };
  const source = await StaticX509Source.create(await material());
  const timer = setInterval(() => { void material().then((m) => source.set(m)).catch(() => undefined); }, (ttl * 1000) / 2);
  timer.unref();
  return { source, stop: () => clearInterval(timer) };
}

export async function serveCa(o: CaServerOptions): Promise<CaServer> {
  const a = o.authority;
  const reflection = new ReflectionService(loadProto('ca.proto'));
  const agentImpl: grpc.UntypedServiceImplementation = {
    AttestAgent: unary<{ join_token: string; csr: Buffer }, object>(async (call) => wireSvid(await a.attestAgent(call.request.join_token, call.request.csr))),
    RenewAgent: unary<{ csr: Buffer }, object>(async (call) => wireSvid(await a.renewAgent(callerOf(call), call.request.csr))),
    MintX509Svid: unary<{ entry_id: string; csr: Buffer }, object>(async (call) => wireSvid(await a.mintX509(callerOf(call), call.request.entry_id, call.request.csr))),
    MintJwtSvid: unary<{ entry_id: string; audience: string[] }, object>(async (call) => {
      const t = await a.mintJwt(callerOf(call), call.request.entry_id, call.request.audience);
      return { spiffe_id: t.spiffeId, token: t.token, expires_at: t.expiresAt };
    }),
    SyncAgent: (call: grpc.ServerWritableStream<object, object>) => {
      let stop: (() => void) | undefined;
      try {
        stop = a.subscribe(callerOf(call), (s) => { if (!call.cancelled) call.write(wireState(s)); });
      } catch (err) {
        call.emit('error', grpcError(err)); // ends the stream with this status
        return;
      }
      call.on('cancelled', () => stop?.());
      call.on('close', () => stop?.());
    },
  };
  const adminImpl: grpc.UntypedServiceImplementation = {
    CreateJoinToken: unary<{ agent_id: string; ttl_seconds: number }, object>(async (call) => {
      const t = await a.createJoinToken(call.request.agent_id, call.request.ttl_seconds || 600);
      return { token: t.token, agent_id: t.agentId, expires_at: t.expiresAt };
    }),
    CreateEntry: unary<WireEntry, WireEntry>(async (call) => wireEntry(await a.createEntry({
      spiffeId: call.request.spiffe_id, parentId: call.request.parent_id, selectors: call.request.selectors,
      ttlSeconds: call.request.ttl_seconds, hint: call.request.hint,
    }))),
    ListEntries: unary<{ parent_id: string }, object>(async (call) => ({ entries: a.listEntries(call.request.parent_id || undefined).map(wireEntry) })),
    DeleteEntry: unary<{ id: string }, object>(async (call) => {
      const r = await a.deleteEntry(call.request.id);
      return { entry: wireEntry(r.entry), revoked: r.revoked };
    }),
    GetStatus: unary<object, object>(async () => {
      const s = a.status();
      return {
        trust_domain: s.trustDomain, root_serial: s.rootSerial, intermediate_serial: s.intermediateSerial, intermediate_expires_at: s.intermediateExpiresAt,
        entries: s.entries, agents: s.agents, issued: s.issued, root_key_online: s.rootKeyOnline,
      };
    }),
  };
  const CAAdmin = serviceOf('ca.proto', 'flyme.ca.v1.CAAdmin');
  const adminRoles = Object.fromEntries(ADMIN_METHODS.map((m) => [`${ADMIN}${m}`, ['ca.admin']]));
  const addresses: string[] = [];
  const tls = o.listen.length > 0 ? await serveTls(o, agentImpl, adminImpl, adminRoles, reflection, addresses) : undefined;
  let admin: ReturnType<typeof createLocalServer> | undefined;
  if (o.adminSocket) {
    const me = process.getuid?.();
    admin = createLocalServer({
      methods: adminRoles, publicMethods: REFLECTION, socketMode: 0o600, serverOptions: CA_GRPC_LIMITS,
      peerRoles: (p) => (p.uid === 0 || p.uid === me ? ['ca.admin'] : []),
      ...(o.events ? { events: o.events } : {}),
    });
    admin.server.addService(CAAdmin.service, adminImpl);
    reflection.addToServer(admin.server);
    try {
      await admin.bind(o.adminSocket);
    } catch (err) {
      await tls?.close();
      throw err;
    }
    addresses.push(o.adminSocket);
  }
  return {
    addresses,
    ...(tls ? { source: tls.source } : {}),
    close: async () => {
      await Promise.all([tls?.close(), admin?.shutdown(1000)]);
    },
  };
}

async function serveTls(o: CaServerOptions, agentImpl: grpc.UntypedServiceImplementation, adminImpl: grpc.UntypedServiceImplementation,
  adminRoles: Record<string, string[]>, reflection: ReflectionService, addresses: string[]): Promise<{ source: StaticX509Source; close(): Promise<void> }> {
  const AgentCA = serviceOf('ca.proto', 'flyme.ca.v1.AgentCA');
  const CAAdmin = serviceOf('ca.proto', 'flyme.ca.v1.CAAdmin');
  const serving = await servingSource(o.authority, o.servingTtlSeconds ?? 3600);
  const tls = await createSecureServer({
    source: serving.source,
    serverOptions: CA_GRPC_LIMITS,
    methods: adminRoles,
    publicMethods: [...['AttestAgent', 'RenewAgent', 'SyncAgent', 'MintX509Svid', 'MintJwtSvid'].map((m) => `${AGENT}${m}`), ...REFLECTION],
    unauthenticatedMethods: [`${AGENT}AttestAgent`, ...REFLECTION],
    idRoles: Object.fromEntries((o.adminIds ?? []).map((id) => [id, ['ca.admin']])),
    ...(o.events ? { events: o.events } : {}),
  });
  tls.server.addService(AgentCA.service, agentImpl);
  tls.server.addService(CAAdmin.service, adminImpl);
  reflection.addToServer(tls.server);
  try {
    for (const url of o.listen) {
      const port = await tls.bind(url);
      addresses.push(url.startsWith('tls://') ? url.replace(/:\d+$/, `:${port}`) : url);
    }
  } catch (err) {
    serving.stop();
    await tls.shutdown(0);
    throw err;
  }
  return {
    source: serving.source,
    close: async () => {
      serving.stop();
      await tls.shutdown(1000);
    },
  };
}
