/**
 * A Workload API client for any SPIFFE agent (FlyMe's or SPIRE's): the security header on every call,
 * X.509 material parsed and checked into FlyMe's types, JWT-SVIDs, bundles and validation.
 */
import * as grpc from '@grpc/grpc-js';
import { flymeError, type FlyMeError } from '../errors.js';
import { callUnary, fromGrpcError } from '../grpc/call.js';
import { serviceOf } from '../grpc/proto-files.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import type { X509Material, X509Svid } from '../identity/source/types.js';
import { parseSvid } from '../identity/svid.js';
import { TrustBundle } from '../identity/trust-bundle.js';
import { x509 } from '../identity/x509.js';
import { splitDer } from './der.js';
import { endpointFrom, endpointTarget } from './endpoint.js';
import { JwtBundleSet } from './jwt-svid.js';
import { fromStruct, type StructValue } from './struct.js';

interface WireX509Svid { spiffe_id: string; x509_svid: Buffer; x509_svid_key: Buffer; bundle: Buffer; hint: string }
export interface WireX509Response { svids: WireX509Svid[]; crl: Buffer[]; federated_bundles: Record<string, Buffer> }

const certsPem = (der: Uint8Array) => splitDer(der).map((c) => `${x509.PemConverter.encode(Uint8Array.from(c).buffer, 'CERTIFICATE')}\n`).join('');

function bundleOf(td: string, der: Uint8Array): TrustBundle {
  return TrustBundle.fromCertificates(splitDer(der).map((c) => new x509.X509Certificate(Uint8Array.from(c))), { trustDomain: td });
}

/** An X509SVIDResponse as FlyMe material: every SVID checked (key matches, SVID rules), bundles per trust domain. */
export async function materialFromResponse(r: WireX509Response): Promise<X509Material> {
  if (r.svids.length === 0) throw flymeError('FLYME_INVALID_CERTIFICATE', 'the Workload API response holds no SVID');
  const svids: X509Svid[] = [];
  const bundles: TrustBundle[] = [];
  for (const s of r.svids) {
    const keyPem = x509.PemConverter.encode(Uint8Array.from(s.x509_svid_key).buffer, 'PRIVATE KEY');
    const svid = await parseSvid(certsPem(s.x509_svid), keyPem);
    if (svid.spiffeId.toString() !== s.spiffe_id) throw flymeError('FLYME_INVALID_CERTIFICATE', `SVID for ${s.spiffe_id} carries ${svid.spiffeId.toString()}`);
    svids.push({ ...svid, ...(s.hint ? { hint: s.hint } : {}) });
    bundles.push(bundleOf(svid.spiffeId.trustDomain, s.bundle));
  }
  for (const [id, der] of Object.entries(r.federated_bundles ?? {})) bundles.push(bundleOf(SpiffeId.parse(id).trustDomain, der));
  return { svids, bundle: TrustBundle.combine(bundles, r.crl.map((c) => new Uint8Array(c))) };
}

export class WorkloadApiClient {
  readonly #client: grpc.Client;
  readonly address: string;

  /** `address` defaults to SPIFFE_ENDPOINT_SOCKET. */
  constructor(address?: string) {
    this.address = endpointFrom(address);
    const Api = serviceOf('workload.proto', 'SpiffeWorkloadAPI');
    this.#client = new Api(endpointTarget(this.address), grpc.credentials.createInsecure());
  }

  static header(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('workload.spiffe.io', 'true');
    return md;
  }

  /** Follows FetchX509SVID: `onResponse` per message, `onEnd` once (with the error when it failed). */
  watchX509(onResponse: (r: WireX509Response) => void, onEnd: (err?: FlyMeError) => void): () => void {
    return this.#watch('FetchX509SVID', onResponse, onEnd);
  }

  watchX509Bundles(onResponse: (r: { crl: Buffer[]; bundles: Record<string, Buffer> }) => void, onEnd: (err?: FlyMeError) => void): () => void {
    return this.#watch('FetchX509Bundles', onResponse, onEnd);
  }

  watchJwtBundles(onResponse: (r: { bundles: Record<string, Buffer> }) => void, onEnd: (err?: FlyMeError) => void): () => void {
    return this.#watch('FetchJWTBundles', onResponse, onEnd);
  }

  /** The first FetchX509SVID response, as material. */
  fetchX509(timeoutMs = 10_000): Promise<X509Material> {
    return this.#first<WireX509Response>('FetchX509SVID', timeoutMs).then(materialFromResponse);
  }

  async fetchJwtBundles(timeoutMs = 10_000): Promise<JwtBundleSet> {
    return JwtBundleSet.from((await this.#first<{ bundles: Record<string, Buffer> }>('FetchJWTBundles', timeoutMs)).bundles);
  }

  async fetchJwtSvids(audience: readonly string[], spiffeId?: string): Promise<Array<{ spiffeId: string; token: string; hint: string }>> {
    const r = await callUnary<{ svids: Array<{ spiffe_id: string; svid: string; hint: string }> }>(this.#client, 'FetchJWTSVID', { audience, spiffe_id: spiffeId ?? '' }, { metadata: WorkloadApiClient.header() });
    return r.svids.map((s) => ({ spiffeId: s.spiffe_id, token: s.svid, hint: s.hint }));
  }

  async validateJwtSvid(token: string, audience: string): Promise<{ spiffeId: string; claims: Record<string, unknown> }> {
    const r = await callUnary<{ spiffe_id: string; claims: { fields?: Record<string, StructValue> } }>(this.#client, 'ValidateJWTSVID', { svid: token, audience }, { metadata: WorkloadApiClient.header() });
    return { spiffeId: r.spiffe_id, claims: fromStruct(r.claims) };
  }

  close(): void {
    this.#client.close();
  }

  #watch<T>(method: string, onResponse: (r: T) => void, onEnd: (err?: FlyMeError) => void): () => void {
    const call = (this.#client as unknown as Record<string, (req: object, md: grpc.Metadata) => grpc.ClientReadableStream<T>>)[method]!.call(this.#client, {}, WorkloadApiClient.header());
    let ended = false;
    const end = (err?: FlyMeError) => { if (!ended) { ended = true; onEnd(err); } };
    call.on('data', onResponse);
    call.on('error', (e: grpc.ServiceError) => end(e.code === grpc.status.CANCELLED ? undefined : fromGrpcError(e, method)));
    call.on('end', () => end());
    return () => call.cancel();
  }

  #first<T>(method: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cancel(); reject(flymeError('FLYME_TIMEOUT', `${method}: no answer from ${this.address} within ${timeoutMs} ms`)); }, timeoutMs);
      const cancel = this.#watch<T>(method, (r) => { clearTimeout(timer); cancel(); resolve(r); }, (err) => {
        clearTimeout(timer);
        reject(err ?? flymeError('FLYME_CONNECTION_CLOSED', `${method}: the stream ended without an answer`));
      });
    });
  }
}
