/**
 * A `checkServerIdentity` for node:tls-based clients (grpc-js, node-redis, …) that checks the server's
 * SPIFFE ID with an authorizer instead of a DNS name. The chain itself is verified by OpenSSL against the
 * CA bundle given to the same connection; this adds the X.509-SVID rules and the ID check.
 */
import type { PeerCertificate } from 'node:tls';
import { FlyMeError } from '../../errors.js';
import type { Authorizer } from '../authorizer.js';
import { assertSvid } from '../validate.js';
import { x509 } from '../x509.js';

export function spiffeServerIdentity(authorizer: Authorizer): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    try {
      const leaf = new x509.X509Certificate(Uint8Array.from(cert.raw));
      authorizer(assertSvid(leaf), [leaf]);
      return undefined;
    } catch (e) {
      return new Error(e instanceof FlyMeError ? e.message : `server certificate refused: ${(e as Error).message}`);
    }
  };
}
