/**
 * grpc-js client credentials from a FlyMe identity: channel credentials following an X509Source (rotation
 * reaches new connections) that check the server's SPIFFE ID (not a DNS name), and call credentials that
 * attach a bearer token refreshed before it expires. Server-side TLS is FlyMe's own (see server.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Authorizer } from '../identity/authorizer.js';
import { filesX509Source } from '../identity/source/files.js';
import type { X509Source } from '../identity/source/types.js';
import { spiffeServerIdentity } from '../identity/tls/server-identity.js';
import { SourceCertificateProvider } from './certificate-provider.js';

/** Where a workload's identity lives (a `flyme certs` directory has server.pem/client.pem, *.key.pem, root-ca.pem). */
export interface IdentityFiles {
  certPath: string;
  keyPath: string;
  caPath: string;
}

/** An X509Source from explicit files (watched). */
export function sourceFromFiles(f: IdentityFiles, verifyOwn = true): Promise<X509Source> {
  return filesX509Source({ certPath: f.certPath, keyPath: f.keyPath, bundlePaths: [f.caPath] }, { verifyOwn });
}

/**
 * Channel credentials: the client's SVID and the trust bundle from `identity` (followed on rotation), and the
 * server's SPIFFE ID checked by an authorizer instead of the host name.
 * @example const creds = await channelCredentials(await certsDirSource(dir, 'client'), authorizeId('spiffe://td/greeter'))
 */
export async function channelCredentials(identity: X509Source | IdentityFiles, serverAuthorizer: Authorizer): Promise<grpc.ChannelCredentials> {
  const source = 'material' in identity ? identity : await sourceFromFiles(identity, false);
  const provider = new SourceCertificateProvider(source);
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: spiffeServerIdentity(serverAuthorizer),
  });
}

/** A token source: returns a token and when it expires (epoch seconds). */
export type TokenProvider = () => Promise<{ token: string; exp: number }> | { token: string; exp: number };

/**
 * Call credentials adding `authorization: Bearer <token>`; the token is fetched again when less than
 * `refreshBeforeSeconds` (default 60, capped at half its lifetime) remain.
 */
export function tokenCallCredentials(provider: TokenProvider, refreshBeforeSeconds = 60): grpc.CallCredentials {
  // The header is built (and checked by grpc-js) once per token; each call gets its own copy of it.
  let cached: { token: string; exp: number; refreshAt: number; metadata: grpc.Metadata } | undefined;
  let pending: Promise<NonNullable<typeof cached>> | undefined;
  const fetch = async () => {
    const t = await provider();
    const now = Date.now() / 1000;
    const metadata = new grpc.Metadata();
    metadata.add('authorization', `Bearer ${t.token}`);
    return { ...t, refreshAt: t.exp - Math.min(refreshBeforeSeconds, (t.exp - now) / 2), metadata };
  };
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    // A token that is not due for refresh is attached at once (no promise per call).
    if (cached && cached.refreshAt > Date.now() / 1000) {
      callback(null, cached.metadata.clone());
      return;
    }
    (pending ??= fetch().finally(() => { pending = undefined; })).then((t) => {
      cached = t;
      callback(null, t.metadata.clone());
    }, (e: Error) => callback(e));
  });
}
