/**
 * How CLI commands that read a registry reach it: `--registry tls://host:port|unix+tls:///path`, the registry's
 * SPIFFE ID `--registry-id`, and the caller's identity from flyme's global `--certs DIR` (client.pem,
 * client.key.pem, root-ca.pem) or `--spiffe-socket URL`.
 */
import { flymeError } from '../errors.js';
import { registryTarget as registryTargetOf } from '../mesh/registry-client.js';
import type { X509Source } from '../identity/source/types.js';

export type IdentityFlags = () => { certs?: string | undefined; spiffeSocket?: string | undefined };

/** `tls://host:port` → `host:port`, `unix+tls:///path` → `unix:///path` (FLYME_INVALID_ADDRESS naming --registry). */
export const registryTarget = (url: string): string => registryTargetOf(url, '--registry');

/** The caller's identity (exactly one of --certs DIR, whose SVID is DIR/NAME.pem, and --spiffe-socket URL). */
export async function clientSource(identity: IdentityFlags, onStreamError?: (e: { code: string; message: string }) => void, name = 'client'): Promise<X509Source> {
  const { certs, spiffeSocket } = identity();
  if (!certs === !spiffeSocket) throw flymeError('FLYME_INVALID_CONFIG', 'give exactly one identity: --certs DIR or --spiffe-socket URL');
  return certs
    ? (await import('../identity/source/files.js')).certsDirSource(certs, name)
    : (await import('../spiffe/source.js')).workloadX509Source({ address: spiffeSocket!, ...(onStreamError ? { onStreamError } : {}) });
}

/** One snapshot of the registry's live records (Watch until SYNCED), with the identity flags; closes everything. */
export async function registrySnapshot(identity: IdentityFlags, o: { registry: string; registryId: string; name?: string }) {
  const target = registryTarget(o.registry);
  const [{ readRegistrySnapshot }, source] = await Promise.all([import('../mesh/snapshot.js'), clientSource(identity)]);
  try {
    return await readRegistrySnapshot({ target, registryId: o.registryId, source, ...(o.name ? { name: o.name } : {}) });
  } finally {
    source.close();
  }
}
