/**
 * Dialing a FlyMe server over `unix+tls://` or `tls://` with an identity: an X509Source, or a `flyme certs`
 * directory (NAME.pem, NAME.key.pem, root-ca.pem; NAME defaults to `client`). The server must prove the
 * expected SPIFFE ID: `serverId` (an ID or an authorizer), by default `spiffe://<our trust domain>/flymed`.
 * Loaded on demand, so plain Unix-socket clients never pay for the certificate code.
 */
import type { Duplex } from 'node:stream';
import { flymeError } from '../errors.js';
import { authorizeId, type Authorizer } from '../identity/authorizer.js';
import { certsDirFiles } from '../identity/source/files.js';
import type { X509Source } from '../identity/source/types.js';
import { dialTls, sharedFilesSource } from '../identity/tls/client.js';

/** The identity a TLS dial presents, and the server it expects. */
export interface TlsIdentityOptions {
  /** The client's SVID and trust bundle (e.g. from the Workload API); takes precedence over `certs`. */
  x509Source?: X509Source;
  /** A `flyme certs` directory. */
  certs?: string;
  /** The identity's file name prefix in `certs` (default `client`). */
  certName?: string;
  /** The server's SPIFFE ID, or an authorizer (default `spiffe://<own trust domain>/flymed`). */
  serverId?: string | Authorizer;
}

/**
 * Opens a verified mutual TLS 1.3 connection.
 * @throws FlyMeError FLYME_INVALID_CONFIG (no identity given), the errors of `dialTls`.
 */
export async function dialWithIdentity(url: string, o: TlsIdentityOptions & { timeoutMs?: number }): Promise<Duplex> {
  let source = o.x509Source;
  if (!source) {
    if (!o.certs) throw flymeError('FLYME_INVALID_CONFIG', `${url} is a TLS address: give a client identity ({ certs: dir } or { x509Source })`, { address: url });
    const f = certsDirFiles(o.certs, o.certName ?? 'client');
    source = await sharedFilesSource({ certPath: f.certPath, keyPath: f.keyPath, bundlePaths: f.bundlePaths });
  }
  const serverAuthorizer = typeof o.serverId === 'function' ? o.serverId
    : authorizeId(o.serverId ?? `spiffe://${source.svid().spiffeId.trustDomain}/flymed`);
  return dialTls(url, { source, serverAuthorizer, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
}
