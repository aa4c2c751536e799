// Fuzz: the signed pub/sub envelope parser (src/redis/envelope.ts EnvelopeVerifier.open) for arbitrary strings,
// JWS-shaped strings with arbitrary protected headers (alg, x5c, tricky members), and envelopes validly signed
// by a trusted publisher whose body members are arbitrary. The parser's documented refusal is MessageRejected
// (with a reason); nothing else may escape, and each call is bounded in time.
import { randomBytes } from 'node:crypto';
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { ChannelAcl } from '../../src/auth/policy/channels.js';
import { createRootCA, issueSvidWithKey, TrustBundle } from '../../src/identity/index.js';
import { EnvelopeVerifier, MessageRejected, sealEnvelope, signerFromPem, type Signer } from '../../src/redis/envelope.js';
import { fcOptions, onlyExpectedErrorsAsync } from '../helpers/property.js';
import { jsonish, trickyKey } from '../helpers/fuzz-arbitraries.js';

const TD = 'flyme.local';
const FROM = `spiffe://${TD}/orders`;
const CHANNEL = 'orders.eu';
const REASONS = new Set(['oversize', 'malformed', 'untrusted-signer', 'bad-signature', 'wrong-sender', 'wrong-channel', 'stale', 'not-allowed', 'replayed', 'bad-token']);
const rejected = (e: unknown): e is MessageRejected => e instanceof MessageRejected && REASONS.has(e.reason);

let signer: Signer;
let verifier: EnvelopeVerifier;

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');
const json = (v: unknown) => JSON.stringify(v) ?? 'null';

async function open(raw: string, channel = CHANNEL): Promise<void> {
  const r = await onlyExpectedErrorsAsync('EnvelopeVerifier.open', () => verifier.open(raw, channel), rejected);
  if (r.ok) {
    assert.equal(r.value.from, FROM);
    assert.equal(r.value.channel, channel);
    assert.ok(typeof r.value.payload === 'string' && typeof r.value.contentType === 'string', 'a delivered message has the types it promises');
  }
}

/** Values for x5c: the real chain, arbitrary strings and values, corrupted base64 of the real certificate. */
const x5c = fc.oneof(
  fc.constant('real'),
  fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 60 }), jsonish), { maxLength: 5 }),
  fc.record({ at: fc.nat(), ch: fc.constantFrom('A', '/', '+', '=', '!', '') }),
  jsonish,
);
const header = fc.tuple(
  fc.record({
    alg: fc.oneof(fc.constantFrom('ES256', 'EdDSA', 'none', 'HS256', 'RS256'), jsonish),
    typ: fc.oneof(fc.constant('flyme-pubsub+jws'), jsonish),
    x5c,
    crit: jsonish,
    b64: fc.oneof(fc.boolean(), jsonish),
  }, { requiredKeys: [] }),
  fc.array(fc.tuple(trickyKey, jsonish), { maxLength: 3 }),
).map(([h, extra]) => {
  const out: Record<string, unknown> = Object.fromEntries([...Object.entries(h), ...extra]);
  const v = out.x5c;
  if (v === 'real') out.x5c = signer.x5c;
  else if (typeof v === 'object' && v !== null && 'ch' in v && 'at' in v && typeof v.at === 'number') {
    const c = signer.x5c[0]!;
    const i = v.at % c.length;
    out.x5c = [c.slice(0, i) + String(v.ch) + c.slice(i + 1)];
  }
  return out;
});

const body = fc.tuple(
  fc.record({
    v: fc.oneof(fc.constant(1), jsonish),
    channel: fc.oneof(fc.constant(CHANNEL), fc.constant('orders.us'), jsonish),
    from: fc.oneof(fc.constant(FROM), fc.constant(`spiffe://${TD}/other`), jsonish),
    iat: fc.oneof(fc.constant('now'), fc.integer(), jsonish),
    nonce: fc.oneof(fc.constant('fresh'), fc.constant('reused'), jsonish),
    contentType: fc.oneof(fc.constant('text/plain'), jsonish),
    payload: fc.oneof(fc.string({ maxLength: 20 }), jsonish),
    jwt: jsonish,
  }, { requiredKeys: ['v', 'channel', 'from', 'iat', 'nonce', 'payload'] }),
  fc.array(fc.tuple(trickyKey, jsonish), { maxLength: 2 }),
).map(([b, extra]) => Object.fromEntries([...Object.entries(b), ...extra]));

async function signBody(b: Record<string, unknown>): Promise<string> {
  const filled = { ...b };
  if (filled.iat === 'now') filled.iat = Math.floor(Date.now() / 1000);
  if (filled.nonce === 'fresh') filled.nonce = randomBytes(12).toString('base64url');
  return new CompactSign(new TextEncoder().encode(json(filled))).setProtectedHeader({ alg: signer.alg, typ: 'flyme-pubsub+jws', x5c: signer.x5c }).sign(signer.key);
}

describe('fuzz: EnvelopeVerifier.open', () => {
  before(async () => {
    const ca = await createRootCA({ trustDomain: TD, days: 2 });
    const svid = await issueSvidWithKey(ca, { spiffeId: FROM });
    signer = signerFromPem(FROM, svid.chainPem, svid.keyPem);
    verifier = new EnvelopeVerifier({
      bundle: () => TrustBundle.fromCertificates([ca.cert]),
      acl: () => new ChannelAcl([{ channel: 'orders.*', publish: [{ spiffeId: FROM }, { role: 'publisher' }] }]),
      tokenRoles: async (jwt) => {
        if (jwt !== 'good') throw new Error('token refused');
        return ['publisher'];
      },
    });
  });

  it('control: a sealed envelope opens', async () => {
    const m = await verifier.open(await sealEnvelope(signer, CHANNEL, 'hi'), CHANNEL);
    assert.equal(m.payload, 'hi');
  });

  it('arbitrary strings: MessageRejected only, bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.base64String({ maxLength: 40 }), { maxLength: 4 }).map((p) => p.join('.'))), (s) => open(s)),
      fcOptions(),
    );
  });

  it('JWS-shaped strings with arbitrary protected headers and payloads: MessageRejected only', async () => {
    await fc.assert(
      fc.asyncProperty(header, fc.oneof(jsonish, fc.string()), fc.string({ maxLength: 90 }), async (h, payload, sig) => {
        await open(`${b64(json(h))}.${b64(typeof payload === 'string' ? payload : json(payload))}.${b64(sig)}`);
      }),
      fcOptions(),
    );
  });

  it('validly signed envelopes with arbitrary body members: MessageRejected only; opens only when every member is right', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(CHANNEL, 'orders.us', 'other'), async (b, channel) => {
        const raw = await signBody(b);
        await open(raw, channel);
        if (b.nonce === 'reused') await open(raw, channel); // a second presentation is refused as replayed
      }),
      fcOptions(),
    );
  });
});
