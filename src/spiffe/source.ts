/**
 * X509Source and JWT helpers over the Workload API (FlyMe's agent or SPIRE's): the first FetchX509SVID
 * response is awaited, later ones replace the material as they arrive (rotation, bundle and CRL updates), and
 * a broken stream is reopened with backoff while the last good material stays in force.
 */
import { flymeError, type FlyMeError } from '../errors.js';
import { Reloadable } from '../files/reloadable.js';
import { checkMaterial, HolderX509Source } from '../identity/source/holder.js';
import type { X509Material } from '../identity/source/types.js';
import { materialFromResponse, WorkloadApiClient, type WireX509Response } from './client.js';
import { followStream } from './follow.js';

export interface WorkloadSourceOptions {
  /** The endpoint (default SPIFFE_ENDPOINT_SOCKET). */
  address?: string;
  /** Wait this long for the first SVID (default 10 s). */
  timeoutMs?: number;
  /** Present this identity (the default is the first SVID the Workload API lists). */
  spiffeId?: string;
  /** Stream problems after the first SVID (the source keeps its material and reconnects). */
  onStreamError?(err: FlyMeError): void;
}

export class WorkloadX509Source extends HolderX509Source {
  #stop: () => void = () => undefined;

  /** @internal use {@link workloadX509Source} */
  attach(stop: () => void): void {
    this.#stop = stop;
  }

  override close(): void {
    this.#stop();
    super.close();
  }
}

/**
 * An X509Source following the Workload API.
 * @throws FlyMeError when no SVID arrives in time (not entitled: FLYME_PERMISSION_DENIED; no agent: FLYME_UNREACHABLE).
 * @example const source = await workloadX509Source({ address: 'unix:///run/flyme/agent.sock' })
 */
export async function workloadX509Source(o: WorkloadSourceOptions = {}): Promise<WorkloadX509Source> {
  const client = new WorkloadApiClient(o.address);
  const pick = (m: X509Material): X509Material => {
    if (!o.spiffeId) return m;
    const chosen = m.svids.find((s) => s.spiffeId.toString() === o.spiffeId);
    if (!chosen) throw flymeError('FLYME_PERMISSION_DENIED', `the Workload API gives this process no SVID for ${o.spiffeId} (it has ${m.svids.map((s) => s.spiffeId.toString()).join(', ')})`);
    return { ...m, svids: [chosen, ...m.svids.filter((s) => s !== chosen)] };
  };
  let first: X509Material;
  try {
    first = await checkMaterial(pick(await client.fetchX509(o.timeoutMs ?? 10_000)));
  } catch (err) {
    client.close();
    throw err;
  }
  const source = new WorkloadX509Source(Reloadable.of(first));
  const stop = followStream<WireX509Response, FlyMeError>((m, end) => client.watchX509(m, end), (r) => {
    // Each message is the full set; one that does not hold together is refused and the last good one stays.
    void source.update(async () => pick(await materialFromResponse(r)), 'workload api').catch((e: FlyMeError) => o.onStreamError?.(e));
  }, (err) => { if (err) o.onStreamError?.(err); });
  source.attach(() => {
    stop();
    client.close();
  });
  return source;
}
