/** Bench identities: a FlyMe CA with a server and a client SVID written to a temp dir. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRootCA, issueSvidWithKey } from '../src/identity/index.js';

export async function makeBenchCerts(dir: string): Promise<void> {
  const ca = await createRootCA({ trustDomain: 'bench.local', days: 1 });
  writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
  for (const [name, id] of [['server', 'spiffe://bench.local/flymed'], ['client', 'spiffe://bench.local/client']] as const) {
    const s = await issueSvidWithKey(ca, { spiffeId: id, dnsNames: ['localhost'], days: 1 });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
  }
}

export const benchFiles = (dir: string, name: 'server' | 'client') => ({
  certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`), caPath: join(dir, 'root-ca.pem'),
});
