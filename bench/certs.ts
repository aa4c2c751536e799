/** Bench identities: a FlyMe CA with a server and a client SVID written to a temp dir (bench processes find them with cert-files.ts's benchFiles). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { createRootCA, issueSvidWithKey } from '../src/identity/index.js';

export async function makeBenchCerts(dir: string): Promise<void> {
  const ca = await createRootCA({ trustDomain: 'bench.local', days: 1 });
  writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'root-ca.key.pem'), ca.keyPem, { mode: 0o600 }); // signs the bench redis-server's certificate
  for (const [name, id] of [['server', 'spiffe://bench.local/flymed'], ['client', 'spiffe://bench.local/client'], ['redis', 'spiffe://bench.local/redis']] as const) {
    const s = await issueSvidWithKey(ca, { spiffeId: id, dnsNames: ['localhost'], days: 1 });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
  }
  // Token keys for the flyme/grpc case (JWT call credentials verified by the server interceptor).
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'jwt-key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'b1', alg: 'ES256' }), { mode: 0o600 });
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256', use: 'sig' }] }));
}
