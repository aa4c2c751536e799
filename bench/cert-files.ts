/** Where makeBenchCerts (certs.ts) writes a bench identity: apart from it, so a bench process loads no CA code. */
import { join } from 'node:path';

export const benchFiles = (dir: string, name: 'server' | 'client') => ({
  certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`), caPath: join(dir, 'root-ca.pem'),
});
