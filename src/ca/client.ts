/**
 * Clients of the CA service: the operator's (CAAdmin over the admin Unix socket, identified by the kernel)
 * and the agent's (AgentCA over mutual TLS; the join-token exchange runs before the agent has an SVID, so
 * its connection carries no client certificate).
 */
import * as grpc from '@grpc/grpc-js';
import { authorizeId } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { spiffeServerIdentity } from '../identity/tls/server-identity.js';
import { callUnary, grpcTarget } from '../grpc/call.js';
import { channelCredentials } from '../grpc/credentials.js';
import { serviceOf } from '../grpc/proto-files.js';
import type { TrustBundle } from '../identity/trust-bundle.js';

export interface WireEntry { id: string; spiffe_id: string; parent_id: string; selectors: Array<{ type: string; value: string }>; ttl_seconds: number; hint: string; created_at: number }
export interface WireSvid { spiffe_id: string; cert_chain: Buffer[]; expires_at: number }
export interface WireAgentState { trust_domain: string; entries: WireEntry[]; roots: Buffer[]; crls: Buffer[]; jwt_bundle: Buffer }

/** CAAdmin over `unix:///path` (the CA's admin socket). */
export class CaAdminClient {
  readonly #client: grpc.Client;

  constructor(socketUrl: string) {
    const CAAdmin = serviceOf('ca.proto', 'flyme.ca.v1.CAAdmin');
    this.#client = new CAAdmin(grpcTarget(socketUrl), grpc.credentials.createInsecure());
  }

  createJoinToken(agentId: string, ttlSeconds: number) {
    return callUnary<{ token: string; agent_id: string; expires_at: number }>(this.#client, 'CreateJoinToken', { agent_id: agentId, ttl_seconds: ttlSeconds });
  }

  createEntry(e: Partial<WireEntry>) {
    return callUnary<WireEntry>(this.#client, 'CreateEntry', e);
  }

  listEntries(parentId = '') {
    return callUnary<{ entries: WireEntry[] }>(this.#client, 'ListEntries', { parent_id: parentId });
  }

  deleteEntry(id: string) {
    return callUnary<{ entry: WireEntry; revoked: number }>(this.#client, 'DeleteEntry', { id });
  }

  status() {
    return callUnary<Record<string, unknown>>(this.#client, 'GetStatus', {});
  }

  close(): void {
    this.#client.close();
  }
}

/** AgentCA for an agent; `caUrl` is `tls://host:port` or `unix+tls:///path`; the CA must prove `spiffe://TD/ca`. */
export class AgentCaClient {
  readonly #client: grpc.Client;

  private constructor(client: grpc.Client) {
    this.#client = client;
  }

  /** With the agent's SVID (every method but AttestAgent needs it). */
  static async withIdentity(caUrl: string, source: X509Source): Promise<AgentCaClient> {
    const td = source.svid().spiffeId.trustDomain;
    const AgentCA = serviceOf('ca.proto', 'flyme.ca.v1.AgentCA');
    return new AgentCaClient(new AgentCA(grpcTarget(caUrl), await channelCredentials(source, authorizeId(`spiffe://${td}/ca`))));
  }

  /** Without a client certificate, trusting `bundle` (the bootstrap bundle), for AttestAgent only. */
  static bootstrap(caUrl: string, bundle: TrustBundle, trustDomain: string): AgentCaClient {
    const AgentCA = serviceOf('ca.proto', 'flyme.ca.v1.AgentCA');
    const creds = grpc.credentials.createSsl(Buffer.from(bundle.toPem()), null, null, { checkServerIdentity: spiffeServerIdentity(authorizeId(`spiffe://${trustDomain}/ca`)) });
    return new AgentCaClient(new AgentCA(grpcTarget(caUrl), creds));
  }

  attestAgent(joinToken: string, csr: Uint8Array) {
    return callUnary<WireSvid>(this.#client, 'AttestAgent', { join_token: joinToken, csr: Buffer.from(csr) });
  }

  renewAgent(csr: Uint8Array) {
    return callUnary<WireSvid>(this.#client, 'RenewAgent', { csr: Buffer.from(csr) });
  }

  mintX509Svid(entryId: string, csr: Uint8Array) {
    return callUnary<WireSvid>(this.#client, 'MintX509Svid', { entry_id: entryId, csr: Buffer.from(csr) });
  }

  mintJwtSvid(entryId: string, audience: readonly string[]) {
    return callUnary<{ spiffe_id: string; token: string; expires_at: number }>(this.#client, 'MintJwtSvid', { entry_id: entryId, audience });
  }

  /** The SyncAgent stream; `onState` per message, `onEnd` once when it ends (with the error, if any). */
  sync(onState: (s: WireAgentState) => void, onEnd: (err?: grpc.ServiceError) => void): () => void {
    const stream = (this.#client as unknown as { SyncAgent(req: object): grpc.ClientReadableStream<WireAgentState> }).SyncAgent({});
    let ended = false;
    const end = (err?: grpc.ServiceError) => { if (!ended) { ended = true; onEnd(err); } };
    stream.on('data', onState);
    stream.on('error', (e: grpc.ServiceError) => end(e));
    stream.on('end', () => end());
    return () => stream.cancel();
  }

  close(): void {
    this.#client.close();
  }
}
