/**
 * `node dist/bench/jwt-layers.js [N] [REPEATS]`: where the time of one ES256 verification of a new token goes,
 * layer by layer, as CPU time per verification of this process (process.cpuUsage: the main thread and the
 * libuv thread pool WebCrypto runs on), medians of interleaved repeats. Pin it (`taskset -c 1`) on a busy host.
 *   raw     crypto.verify of the token's bytes (the "JWT verify/s" baseline in bench/micro.ts)
 *   subtle  crypto.subtle.verify of the same bytes (what jose calls: a promise through the thread pool)
 *   jose    jose's jwtVerify with FlyMe's options (signature, header, time, issuer and audience claims)
 *   flyme   TokenVerifier.verify (fast-jwt on node:crypto + FlyMe's claim checks, binding, replay cache, verdict cache insert)
 */
import { createPublicKey, verify, webcrypto } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { REQUIRED_CLAIMS, TokenIssuer, TokenVerifier } from '../src/auth/index.js';

const n = Number(process.argv[2] ?? 4000);
const repeats = Number(process.argv[3] ?? 5);
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const jwkPub = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' };
const issuer = await TokenIssuer.create({ key: { ...(await exportJWK(privateKey)), kid: 'b1', alg: 'ES256' }, issuer: 'bench' });
const tokens = await Promise.all(Array.from({ length: 2048 }, () => issuer.issue({ sub: 's', aud: 'bench', roles: ['r'], ttlSeconds: 3600 })));
const [h, p, s] = tokens[0]!.split('.') as [string, string, string];
const data = Buffer.from(`${h}.${p}`);
const sig = Buffer.from(s, 'base64url');
const pub = createPublicKey({ key: jwkPub as never, format: 'jwk' });
const jwks = createLocalJWKSet({ keys: [jwkPub] });
const cryptoKey = await jwks({ alg: 'ES256', kid: 'b1' });
const verifier = new TokenVerifier({ keys: { keys: [jwkPub] }, issuer: 'bench', audience: 'bench' });
const joseOptions = { algorithms: ['ES256'], audience: 'bench', issuer: 'bench', requiredClaims: [...REQUIRED_CLAIMS], clockTolerance: 30, maxTokenAge: 3600 };
let next = 0;
const token = () => tokens[next++ % tokens.length]!;
const layers: Record<string, () => Promise<unknown>> = {
  raw: async () => verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig),
  subtle: () => webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, cryptoKey as webcrypto.CryptoKey, sig, data),
  jose: () => jwtVerify(token(), jwks, joseOptions),
  flyme: () => verifier.verify(token(), { connectionId: 'bench' }),
};
const cpu: Record<string, number[]> = {};
for (let r = 0; r <= repeats; r++) {
  for (const [name, fn] of Object.entries(layers)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const c = process.cpuUsage(c0);
    if (r > 0) (cpu[name] ??= []).push((c.user + c.system) / n); // round 0: warm-up
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const raw = med(cpu.raw!);
for (const [name, xs] of Object.entries(cpu)) {
  console.log(`${name.padEnd(7)} ${med(xs).toFixed(1).padStart(6)} µs CPU per verification  ${(raw / med(xs)).toFixed(2)}× of raw  (repeats: ${xs.map((x) => x.toFixed(0)).join(' ')})`);
}
