/**
 * A grpc-js `CertificateProvider` over a FlyMe X509Source: grpc-js channels get the current SVID and trust
 * bundle, and every rotation or bundle update reaches the connections they open next.
 */
import * as grpc from '@grpc/grpc-js';
import type { X509Material, X509Source } from '../identity/source/types.js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdListener = grpc.experimental.IdentityCertificateUpdateListener;

export class SourceCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly #ca = new Set<CaListener>();
  readonly #id = new Set<IdListener>();
  readonly #unsubscribe: () => void;

  constructor(private readonly source: X509Source) {
    this.#unsubscribe = source.onUpdate((m) => this.#publish(m));
  }

  #publish(m: X509Material): void {
    for (const l of this.#ca) l({ caCertificate: Buffer.from(m.bundle.toPem()) });
    const svid = m.svids[0];
    for (const l of this.#id) l(svid ? { certificate: Buffer.from(svid.certPem), privateKey: Buffer.from(svid.keyPem) } : null);
  }

  addCaCertificateListener(l: CaListener): void {
    this.#ca.add(l);
    l({ caCertificate: Buffer.from(this.source.bundle().toPem()) });
  }

  removeCaCertificateListener(l: CaListener): void {
    this.#ca.delete(l);
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.#id.add(l);
    const svid = this.source.material().svids[0];
    l(svid ? { certificate: Buffer.from(svid.certPem), privateKey: Buffer.from(svid.keyPem) } : null);
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.#id.delete(l);
  }

  /** Stops following the source. */
  close(): void {
    this.#unsubscribe();
  }
}
