/**
 * The SPIFFE Workload API (`SpiffeWorkloadAPI`, proto/workload.proto) served by FlyMe's agent on a Unix
 * socket. No client authentication: every call must carry `workload.spiffe.io: true` (else InvalidArgument)
 * and the caller is attested from its kernel credentials, pinned by a pidfd since it connected. A caller no
 * entry matches gets PermissionDenied; one that exited or was replaced gets Unauthenticated.
 *
 * Streams send the full set first, then again whenever it changes for that caller (SVID rotation, entries,
 * bundle, revocation lists); identical sets are not resent. Each push attests the caller again.
 */
import * as grpc from '@grpc/grpc-js';
import type { Entry } from '../../ca/entries.js';
import { FlyMeError } from '../../errors.js';
import type { PeerRegistry } from '../../grpc/peers.js';
import { grpcError, type GrpcStatusError } from '../../grpc/status.js';
import { SpiffeId } from '../../identity/spiffe-id.js';
import { attest, type Attestation } from '../attest.js';
import { validateJwtSvid } from '../jwt-svid.js';
import { toStruct } from '../struct.js';
import type { Agent } from './agent.js';

export const WORKLOAD_METHODS = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID', 'FetchJWTBundles', 'ValidateJWTSVID'].map((m) => `/SpiffeWorkloadAPI/${m}`);

const status = (code: grpc.status, details: string): GrpcStatusError => ({ code, details });
const concat = (ders: readonly Uint8Array[]) => Buffer.concat(ders.map((d) => Buffer.from(d)));

/** The security header: exactly one value, `true` (SPIFFE Workload Endpoint §3). */
function checkHeader(md: grpc.Metadata): void {
  const v = md.get('workload.spiffe.io');
  if (v.length !== 1 || v[0] !== 'true') throw status(grpc.status.INVALID_ARGUMENT, 'security header missing from request');
}

function asStatus(err: unknown): GrpcStatusError {
  if (err instanceof FlyMeError && err.code === 'FLYME_UNAUTHENTICATED') return status(grpc.status.UNAUTHENTICATED, `could not attest the caller: ${err.message}`);
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as GrpcStatusError).code === 'number' && 'details' in err) return err as GrpcStatusError;
  return grpcError(err);
}

/** A JWT-SVID names at most this many audiences, each at most this long (the CA signs and audits each one). */
export const MAX_AUDIENCES = 16;
export const MAX_AUDIENCE_BYTES = 512;

/** New JWT-SVIDs a uid may have minted per second (fresh cached ones are free); beyond: Unavailable. */
class MintBudget {
  readonly #used = new Map<number, { second: number; n: number }>();
  constructor(private readonly perSecond: number) {}

  take(uid: number): void {
    const second = Math.floor(Date.now() / 1000);
    const u = this.#used.get(uid);
    if (!u || u.second !== second) {
      if (this.#used.size > 4096) this.#used.clear();
      this.#used.set(uid, { second, n: 1 });
      return;
    }
    if (++u.n > this.perSecond) throw status(grpc.status.UNAVAILABLE, 'rate limit exceeded: too many new JWT-SVIDs for this uid; retry');
  }
}

export function workloadApiHandlers(agent: Agent, peers: Pick<PeerRegistry, 'lookup'>): grpc.UntypedServiceImplementation {
  const mints = new MintBudget(20);
  const attestCall = (call: { getPeer(): string }): Promise<Attestation> => attest(peers.lookup(call.getPeer())?.process, agent.needsSha256);
  const entitled = async (call: { getPeer(): string }): Promise<Entry[]> => {
    const entries = agent.entriesFor(await attestCall(call));
    if (entries.length === 0) throw status(grpc.status.PERMISSION_DENIED, 'no identity issued');
    return entries;
  };
  const tdId = () => `spiffe://${agent.trustDomain}`;

  /** A server stream that re-sends `build()` on every agent change when its result differs. */
  const stream = (call: grpc.ServerWritableStream<object, object>, build: () => Promise<{ key: string; message: object }>): void => {
    let last: string | undefined;
    let running = false;
    let again = false;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      agent.off('change', push);
      if (err) call.emit('error', asStatus(err));
      else call.end();
    };
    const push = (): void => {
      if (done) return;
      if (running) { again = true; return; }
      running = true;
      build().then((r) => {
        if (!done && r.key !== last) {
          last = r.key;
          call.write(r.message);
        }
      }, finish).finally(() => {
        running = false;
        if (again && !done) { again = false; push(); }
      });
    };
    call.on('cancelled', () => finish());
    call.on('close', () => finish());
    try {
      checkHeader(call.metadata);
    } catch (err) {
      finish(err);
      return;
    }
    agent.on('change', push);
    push();
  };

  return {
    FetchX509SVID: (call: grpc.ServerWritableStream<object, object>) => stream(call, async () => {
      const entries = await entitled(call);
      await agent.svids.ready(entries.map((e) => e.id));
      const hints = new Set<string>();
      const svids = entries.flatMap((e) => {
        const s = agent.svids.get(e.id);
        if (!s) return [];
        const hint = e.hint && !hints.has(e.hint) ? e.hint : '';
        if (hint) hints.add(hint);
        return [{ spiffe_id: e.spiffeId, x509_svid: concat(s.chain), x509_svid_key: Buffer.from(s.key), bundle: concat(agent.roots), hint, serial: s.serial }];
      });
      if (svids.length === 0) throw status(grpc.status.UNAVAILABLE, 'the SVIDs of this caller are not issued yet; retry');
      return {
        key: `${svids.map((s) => s.serial).join(',')}|${concat(agent.roots).toString('base64')}|${agent.crls.map((c) => Buffer.from(c).toString('base64')).join(',')}`,
        message: { svids: svids.map(({ serial: _s, ...rest }) => rest), crl: agent.crls.map((c) => Buffer.from(c)), federated_bundles: {} },
      };
    }),
    FetchX509Bundles: (call: grpc.ServerWritableStream<object, object>) => stream(call, async () => {
      await entitled(call);
      const bundle = concat(agent.roots);
      return {
        key: `${bundle.toString('base64')}|${agent.crls.map((c) => Buffer.from(c).toString('base64')).join(',')}`,
        message: { crl: agent.crls.map((c) => Buffer.from(c)), bundles: { [tdId()]: bundle } },
      };
    }),
    FetchJWTBundles: (call: grpc.ServerWritableStream<object, object>) => stream(call, async () => {
      await entitled(call);
      const jwks = JSON.stringify(agent.jwtBundles.jwks(agent.trustDomain ?? '') ?? { keys: [] });
      return { key: jwks, message: { bundles: { [tdId()]: Buffer.from(jwks) } } };
    }),
    FetchJWTSVID: (call: grpc.ServerUnaryCall<{ audience: string[]; spiffe_id: string }, object>, cb: grpc.sendUnaryData<object>) => {
      (async () => {
        checkHeader(call.metadata);
        const audience = call.request.audience.filter((a) => a.length > 0);
        if (audience.length === 0) throw status(grpc.status.INVALID_ARGUMENT, 'audience must be specified');
        if (audience.length > MAX_AUDIENCES || audience.some((a) => Buffer.byteLength(a) > MAX_AUDIENCE_BYTES)) {
          throw status(grpc.status.INVALID_ARGUMENT, `at most ${MAX_AUDIENCES} audiences of at most ${MAX_AUDIENCE_BYTES} bytes each`);
        }
        let wanted: string | undefined;
        if (call.request.spiffe_id) {
          try {
            wanted = SpiffeId.parse(call.request.spiffe_id).toString();
          } catch (e) {
            throw status(grpc.status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${(e as Error).message}`);
          }
        }
        const att = await attestCall(call);
        let entries = agent.entriesFor(att);
        if (entries.length === 0) throw status(grpc.status.PERMISSION_DENIED, 'no identity issued');
        if (wanted) {
          entries = entries.filter((e) => e.spiffeId === wanted);
          if (entries.length === 0) throw status(grpc.status.PERMISSION_DENIED, `no identity issued for ${wanted}`);
        }
        const seen = new Set<string>();
        const svids = [];
        for (const e of entries) {
          if (seen.has(e.spiffeId)) continue;
          seen.add(e.spiffeId);
          svids.push({ spiffe_id: e.spiffeId, svid: await agent.jwtSvid(e, audience, () => mints.take(att.uid)), hint: e.hint });
        }
        return { svids };
      })().then((r) => cb(null, r), (err) => cb(asStatus(err) as grpc.ServiceError));
    },
    ValidateJWTSVID: (call: grpc.ServerUnaryCall<{ audience: string; svid: string }, object>, cb: grpc.sendUnaryData<object>) => {
      (async () => {
        checkHeader(call.metadata);
        if (!call.request.audience) throw status(grpc.status.INVALID_ARGUMENT, 'audience must be specified');
        if (!call.request.svid) throw status(grpc.status.INVALID_ARGUMENT, 'svid must be specified');
        await attestCall(call); // a live, pinned caller; validation needs no entitlement
        try {
          const v = await validateJwtSvid(call.request.svid, call.request.audience, agent.jwtBundles);
          return { spiffe_id: v.spiffeId, claims: toStruct(v.claims as Record<string, unknown>) };
        } catch (e) {
          throw status(grpc.status.INVALID_ARGUMENT, e instanceof Error ? e.message : 'invalid JWT-SVID');
        }
      })().then((r) => cb(null, r), (err) => cb(asStatus(err) as grpc.ServiceError));
    },
  };
}
