// Batch (v2) envelopes: publishes issued in the same tick to one channel share one signature and one nonce.
// Every check of a single message holds for the batch as a whole: an edited batch, a replayed one, one moved to
// another channel or signed by an identity the ACL refuses delivers nothing; v1 envelopes still open.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { CompactSign } from 'jose';
import { ChannelAcl } from '../../../src/auth/policy/channels.js';
import { createRootCA, issueSvidWithKey, TrustBundle } from '../../../src/identity/index.js';
import { batchEnvelopeLength, batchItem, EnvelopeVerifier, MAX_BATCH_MESSAGES, MessageRejected, sealBatch, sealEnvelope, signerFromPem, type Signer } from '../../../src/redis/envelope.js';

const TD = 'flyme.local';
const FROM = `spiffe://${TD}/orders`;
let signer: Signer;
let stranger: Signer;
let edSigner: Signer;
let verifier: EnvelopeVerifier;
const items = (...payloads: string[]) => payloads.map((p) => batchItem(p));

async function refused(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof MessageRejected && e.reason === reason);
}

/** A v2 body signed by hand (jose), for bodies sealBatch would never make. */
async function signedBody(body: Record<string, unknown>): Promise<string> {
  const full = { v: 2, channel: 'orders.eu', from: FROM, iat: Math.floor(Date.now() / 1000), nonce: Math.random().toString(36), messages: [{ contentType: 'text/plain', payload: 'p' }], ...body };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full))).setProtectedHeader({ alg: signer.alg, x5c: signer.x5c }).sign(signer.key);
}

before(async () => {
  const ca = await createRootCA({ trustDomain: TD, days: 1 });
  const svid = await issueSvidWithKey(ca, { spiffeId: FROM });
  signer = signerFromPem(FROM, svid.chainPem, svid.keyPem);
  const ed = await issueSvidWithKey(ca, { spiffeId: FROM, keyType: 'Ed25519' });
  edSigner = signerFromPem(FROM, ed.chainPem, ed.keyPem);
  const s = await issueSvidWithKey(ca, { spiffeId: `spiffe://${TD}/stranger` });
  stranger = signerFromPem(`spiffe://${TD}/stranger`, s.chainPem, s.keyPem);
  verifier = new EnvelopeVerifier({ bundle: () => TrustBundle.fromCertificates([ca.cert]), acl: () => new ChannelAcl([{ channel: 'orders.*', publish: [{ spiffeId: FROM }] }]) });
});

test('control: a batch opens into its messages in order, one sender and time; v1 envelopes still open (ES256 and EdDSA)', async () => {
  for (const s of [signer, edSigner]) {
    const ms = await verifier.openAll(sealBatch(s, 'orders.eu', [batchItem('a'), batchItem('{"b":2}', 'application/json'), batchItem('c')]), 'orders.eu');
    assert.deepEqual(ms.map((m) => [m.payload, m.contentType]), [['a', 'text/plain'], ['{"b":2}', 'application/json'], ['c', 'text/plain']]);
    assert.ok(ms.every((m) => m.from === FROM && m.channel === 'orders.eu' && m.sentAt.getTime() === ms[0]!.sentAt.getTime()));
    const one = await verifier.openAll(await sealEnvelope(s, 'orders.eu', 'single'), 'orders.eu');
    assert.deepEqual(one.map((m) => m.payload), ['single']);
    assert.equal((await verifier.open(await sealEnvelope(s, 'orders.eu', 'v1'), 'orders.eu')).payload, 'v1');
  }
});

test('a batch with one message edited under the signature: bad-signature, nothing delivered', async () => {
  const [h, p, sig] = sealBatch(signer, 'orders.eu', items('pay 10', 'pay 20')).split('.');
  const body = JSON.parse(Buffer.from(p!, 'base64url').toString());
  body.messages[1].payload = 'pay 2000';
  await refused(verifier.openAll([h, Buffer.from(JSON.stringify(body)).toString('base64url'), sig].join('.'), 'orders.eu'), 'bad-signature');
  body.messages.pop(); // a message dropped from the batch
  await refused(verifier.openAll([h, Buffer.from(JSON.stringify(body)).toString('base64url'), sig].join('.'), 'orders.eu'), 'bad-signature');
});

test('a batch delivered twice: the second copy is refused as replayed, as a whole', async () => {
  const env = sealBatch(signer, 'orders.eu', items('x', 'y'));
  assert.equal((await verifier.openAll(env, 'orders.eu')).length, 2);
  await refused(verifier.openAll(env, 'orders.eu'), 'replayed');
});

test('a batch moved to another channel, signed by an identity the ACL refuses, or too old: refused', async () => {
  await refused(verifier.openAll(sealBatch(signer, 'orders.eu', items('x', 'y')), 'orders.us'), 'wrong-channel');
  await refused(verifier.openAll(sealBatch(stranger, 'orders.eu', items('x', 'y')), 'orders.eu'), 'not-allowed');
  await refused(verifier.openAll(sealBatch(signer, 'orders.eu', items('x', 'y'), { now: () => Date.now() - 31_000 }), 'orders.eu'), 'stale');
});

test('open() takes one message: a batch of two is refused as malformed without spending its nonce', async () => {
  const env = sealBatch(signer, 'orders.eu', items('x', 'y'));
  await refused(verifier.open(env, 'orders.eu'), 'malformed');
  assert.equal((await verifier.openAll(env, 'orders.eu')).length, 2);
  assert.equal((await verifier.open(sealBatch(signer, 'orders.eu', items('only')), 'orders.eu')).payload, 'only');
});

test('signed v2 bodies with no messages, too many, or members of the wrong types: malformed', async () => {
  await refused(verifier.openAll(await signedBody({ messages: [] }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ messages: 'p' }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ messages: [{ contentType: 'text/plain', payload: 7 }] }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ messages: [null] }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ messages: [{ payload: 'p', contentType: { toString: 1 } }] }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ messages: Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => ({ contentType: 'text/plain', payload: '' })) }), 'orders.eu'), 'malformed');
  await refused(verifier.openAll(await signedBody({ v: 3 }), 'orders.eu'), 'malformed');
  assert.equal((await verifier.openAll(await signedBody({}), 'orders.eu')).length, 1); // control
});

test('a hand-made JWS with extra segments or a critical header member: bad-signature', async () => {
  const env = sealBatch(signer, 'orders.eu', items('x'));
  await refused(verifier.openAll(`${env}.x`, 'orders.eu'), 'bad-signature');
  const crit = await new CompactSign(new TextEncoder().encode('{}')).setProtectedHeader({ alg: signer.alg, x5c: signer.x5c, crit: ['exp'], exp: 1 }).sign(signer.key).catch(() => undefined);
  if (crit) await refused(verifier.openAll(crit, 'orders.eu'), 'bad-signature');
});

test('batchEnvelopeLength is the sealed length; a batch over maxBytes is refused before signing', () => {
  const its = items('é'.repeat(100), 'x', '"quoted"\n');
  const bytes = its.reduce((n, i) => n + Buffer.byteLength(i), 0);
  for (const jwt of [undefined, 'a.b.c']) {
    const env = sealBatch(signer, 'orders.eu', its, jwt ? { jwt } : {});
    assert.equal(env.length, batchEnvelopeLength(signer, 'orders.eu', its.length, bytes, jwt));
    assert.throws(() => sealBatch(signer, 'orders.eu', its, { maxBytes: env.length - 1, ...(jwt ? { jwt } : {}) }), (e: unknown) => (e as { code?: string }).code === 'FLYME_FRAME_TOO_LARGE');
    assert.equal(sealBatch(signer, 'orders.eu', its, { maxBytes: env.length, ...(jwt ? { jwt } : {}) }).length, env.length);
  }
});
