/** A static X509Source for tests and embedded use: material given in memory, replaced only by `set()`. */
import { Reloadable } from '../../files/reloadable.js';
import { parseSvid } from '../svid.js';
import { parseTrustBundle, type TrustBundle } from '../trust-bundle.js';
import { checkMaterial, HolderX509Source, type MaterialCheck } from './holder.js';
import type { X509Material } from './types.js';

export class StaticX509Source extends HolderX509Source {
  /**
   * @example const source = await StaticX509Source.fromPem({ certPem: svid.chainPem, keyPem: svid.keyPem, bundlePem: root.certPem })
   */
  static async create(material: X509Material, check: MaterialCheck = {}): Promise<StaticX509Source> {
    return new StaticX509Source(Reloadable.of(await checkMaterial(material, check)));
  }

  static async fromPem(o: { certPem: string; keyPem: string; bundlePem: string }, check: MaterialCheck = {}): Promise<StaticX509Source> {
    return StaticX509Source.create({ svids: [await parseSvid(o.certPem, o.keyPem)], bundle: parseTrustBundle(o.bundlePem) }, check);
  }

  /** Installs new material (checked first; refused and the old kept when unusable). */
  set(material: X509Material | { svids?: X509Material['svids']; bundle?: TrustBundle }, check: MaterialCheck = {}): Promise<X509Material> {
    return this.update(() => ({ ...this.material(), ...material }), 'set', check);
  }
}
