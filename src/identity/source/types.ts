/**
 * The identity source seam (go-spiffe's `x509svid.Source` / `x509bundle.Source`, grpc-js's certificate
 * providers): every TLS user in FlyMe takes a source instead of file paths, so a certs directory, the SPIFFE
 * Workload API (FlyMe's agent or SPIRE's) and a static set for tests plug in the same way, and rotation
 * reaches every user through `onUpdate`.
 */
import type { FlyMeError } from '../../errors.js';
import type { LoadedSvid } from '../svid.js';
import type { TrustBundle } from '../trust-bundle.js';

/** One X.509-SVID with its private key (checked: the key matches the leaf, the leaf follows the SVID rules). */
export interface X509Svid extends LoadedSvid {
  /** Operator hint from the Workload API (`internal`, `external`, …), when one was given. */
  hint?: string;
}

/** What an X.509 source holds at one moment; replaced as a whole on every update. */
export interface X509Material {
  /** The SVIDs this workload may use; the first is the default identity. Empty for a bundle-only source. */
  svids: readonly X509Svid[];
  /** Roots of every trusted trust domain (own and federated), with revocation lists. */
  bundle: TrustBundle;
}

/** Trust bundles that may change (roots added or removed, revocation lists updated). */
export interface BundleSource {
  /** The bundle in force. */
  bundle(): TrustBundle;
  /** Called after each accepted update. Returns an unsubscribe function. */
  onUpdate(fn: (material: X509Material) => void | Promise<void>): () => void;
  /** Called when an update was refused (the previous material stays). Returns an unsubscribe function. */
  onError(fn: (error: FlyMeError) => void): () => void;
  /** Stops watching / streaming. The last material stays readable. */
  close(): void;
}

/** An X.509-SVID and trust bundles that may change (rotation). */
export interface X509Source extends BundleSource {
  /** The default SVID (the first). */
  svid(): X509Svid;
  /** Everything in force. */
  material(): X509Material;
  /** Ask the source to load again now (files: re-read; Workload API: no-op, updates are pushed). */
  reload?(trigger?: string): Promise<void>;
}
