/** In-process rates: JWT verify/sign (FlyMe vs raw node:crypto with the same key and bytes), certificates issued. */
import { createPublicKey, createPrivateKey, sign, verify } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { TokenIssuer, TokenVerifier } from '../src/auth/index.js';
import { createRootCA, issueSvidWithKey } from '../src/identity/index.js';

async function rate(ms: number, fn: () => unknown): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await fn();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Calls/s with `width` calls in flight at once (how a server verifies tokens of many connections). */
async function concurrentRate(ms: number, width: number, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: width }, async () => {
    while (performance.now() - t0 < ms) {
      await fn();
      n++;
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** Windows per case (odd: the median is one of them). */
const ROUNDS = 9;

export interface MicroResult { flymeVerify: number; flymeVerifyNew: number; flymeVerify16: number; rawVerify: number; flymeSign: number; rawSign: number; certs: number }

export async function micro(ms: number): Promise<MicroResult> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwkPriv = { ...(await exportJWK(privateKey)), kid: 'b1', alg: 'ES256' };
  const jwkPub = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' };
  const issuer = await TokenIssuer.create({ key: jwkPriv, issuer: 'bench' });
  const verifier = new TokenVerifier({ keys: { keys: [jwkPub] }, issuer: 'bench', audience: 'bench' });
  const token = await issuer.issue({ sub: 's', aud: 'bench', roles: ['r'], ttlSeconds: 3600 });
  const [h, p, s] = token.split('.') as [string, string, string];
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const pub = createPublicKey({ key: jwkPub as never, format: 'jwk' });
  const priv = createPrivateKey({ key: jwkPriv as never, format: 'jwk' });
  const rawVerify = () => verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
  // The same token on the same connection id is a bound re-presentation (a bearer token on every call): the
  // verifier reuses its verdict on it. A new token each time (2048 distinct ones in turn, more than the
  // 1024 verdicts remembered) measures the full verification, signature included.
  const flymeVerify = () => verifier.verify(token, { connectionId: 'bench' });
  const fresh = await Promise.all(Array.from({ length: 2048 }, () => issuer.issue({ sub: 's', aud: 'bench', roles: ['r'], ttlSeconds: 3600 })));
  let next = 0;
  const flymeVerifyNew = () => verifier.verify(fresh[next++ % fresh.length]!, { connectionId: 'bench' });
  const out = { flymeVerify: [] as number[], flymeVerifyNew: [] as number[], flymeVerify16: [] as number[], rawVerify: [] as number[], flymeSign: [] as number[], rawSign: [] as number[] };
  const windowMs = ms / 3;
  const cases: Array<[keyof typeof out, () => Promise<number>]> = [
    ['rawVerify', () => rate(windowMs, rawVerify)],
    ['flymeVerifyNew', () => rate(windowMs, flymeVerifyNew)],
    ['flymeVerify', () => rate(windowMs, flymeVerify)],
    ['flymeVerify16', () => concurrentRate(windowMs, 16, flymeVerify)],
    ['rawSign', () => rate(windowMs, () => sign('sha256', data, { key: priv, dsaEncoding: 'ieee-p1363' }))],
    ['flymeSign', () => rate(windowMs, () => issuer.issue({ sub: 's', aud: 'bench', ttlSeconds: 60 }))],
  ];
  // ROUNDS windows of a third of `ms` per case, the order reversed every other round, so a drift in the CPU's
  // speed falls on a FlyMe rate and its raw baseline alike (until 2026-12-02: 3 windows of `ms`, raw verify and
  // JWT verify of a new token a window apart; one process's paired rounds then read 0.66-0.99).
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, measure] of r % 2 ? [...cases].reverse() : cases) out[name].push(await measure());
  }
  const ca = await createRootCA({ trustDomain: 'bench.local', days: 1 });
  let i = 0;
  const certs = await rate(ms, () => issueSvidWithKey(ca, { spiffeId: `spiffe://bench.local/w${i++}`, days: 1 }));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) / 2]!;
  return { flymeVerify: med(out.flymeVerify), flymeVerifyNew: med(out.flymeVerifyNew), flymeVerify16: med(out.flymeVerify16), rawVerify: med(out.rawVerify), flymeSign: med(out.flymeSign), rawSign: med(out.rawSign), certs };
}
