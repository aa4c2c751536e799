/** `flyme`: the client library. */
import type { TLSSocket } from 'node:tls';
import type { DialTlsOptions } from './identity/tls/client.js';

export { connect, Client, type ClientOptions, type CallOptions, type Notification } from './rpc/client.js';
export { FlyMeError, type FlyMeErrorCode } from './errors.js';
export type { TlsIdentityOptions } from './rpc/secure-dial.js';
export type { DialTlsOptions } from './identity/tls/client.js';
export type { X509Source, X509Material, X509Svid, BundleSource } from './identity/source/types.js';

/**
 * Opens a verified mutual TLS 1.3 connection (see docs/identity.md); the certificate code loads on first use,
 * so plain Unix-socket clients never pay for it.
 * @example const client = await connect(url, { socket: await dialTls(url, { source, serverAuthorizer: authorizeId(id) }) })
 */
export async function dialTls(url: string, opts: DialTlsOptions): Promise<TLSSocket> {
  return (await import('./identity/tls/client.js')).dialTls(url, opts);
}
