/**
 * The one X509Source implementation over a {@link Reloadable}: file, Workload API and static sources differ
 * only in how new material arrives. Every candidate goes through {@link checkMaterial} before it is installed.
 */
import { flymeError, type FlyMeError } from '../../errors.js';
import type { Reloadable } from '../../files/reloadable.js';
import type { TrustBundle } from '../trust-bundle.js';
import { verifyChain } from '../verify.js';
import type { X509Material, X509Source, X509Svid } from './types.js';

/** Options for {@link checkMaterial}. */
export interface MaterialCheck {
  /** At least one SVID is required (default true; false for bundle-only sources). */
  requireSvid?: boolean;
  /** Each SVID must verify against the bundle (default true): a set that cannot work is refused early. */
  verifyOwn?: boolean;
}

/**
 * Refuses material a TLS endpoint could not use: no SVID, or an SVID that does not chain to the bundle (or is
 * expired). Keys were already matched to their leaves when the SVIDs were parsed.
 * @throws FlyMeError FLYME_INVALID_CONFIG naming the SVID and the reason.
 */
export async function checkMaterial(m: X509Material, o: MaterialCheck = {}): Promise<X509Material> {
  if ((o.requireSvid ?? true) && m.svids.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'the identity source holds no X.509-SVID');
  if (o.verifyOwn ?? true) {
    for (const s of m.svids) {
      try {
        await verifyChain(s.chain[0]!, s.chain.slice(1), m.bundle);
      } catch (err) {
        const e = err as FlyMeError;
        throw flymeError('FLYME_INVALID_CONFIG', `the SVID ${s.spiffeId.toString()} does not verify against the trust bundle: ${e.message}`, { spiffeId: s.spiffeId.toString(), ...(e.data ?? {}) }, err);
      }
    }
  }
  return m;
}

export class HolderX509Source implements X509Source {
  constructor(private readonly holder: Reloadable<X509Material>) {}

  material(): X509Material {
    return this.holder.current;
  }

  svid(): X509Svid {
    const s = this.holder.current.svids[0];
    if (!s) throw flymeError('FLYME_INVALID_CONFIG', 'this identity source holds trust bundles only, no X.509-SVID');
    return s;
  }

  bundle(): TrustBundle {
    return this.holder.current.bundle;
  }

  onUpdate(fn: (m: X509Material) => void | Promise<void>): () => void {
    return this.holder.onUpdate((next) => fn(next));
  }

  onError(fn: (e: FlyMeError) => void): () => void {
    return this.holder.onError((e) => fn(e));
  }

  async reload(trigger = 'request'): Promise<void> {
    await this.holder.reload(trigger);
  }

  /** Offer new material (pushed sources); it is checked first and refused (old kept) when unusable. */
  update(produce: () => X509Material | Promise<X509Material>, trigger: string, check: MaterialCheck = {}): Promise<X509Material> {
    return this.holder.update(async () => checkMaterial(await produce(), check), trigger);
  }

  close(): void {
    this.holder.close();
  }
}
