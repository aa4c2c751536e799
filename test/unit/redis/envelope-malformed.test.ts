// Envelope members from the wire are never turned into text with String()/template literals: a JSON object with
// its own `toString` member made open() throw a TypeError instead of MessageRejected (an unsigned header is
// anyone's to send). A signed envelope whose contentType is not a string is malformed (it reached subscribers).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { CompactSign } from 'jose';
import { ChannelAcl } from '../../../src/auth/policy/channels.js';
import { createRootCA, issueSvidWithKey, TrustBundle } from '../../../src/identity/index.js';
import { EnvelopeVerifier, MessageRejected, sealEnvelope, signerFromPem, type Signer } from '../../../src/redis/envelope.js';

const TD = 'flyme.local';
const FROM = `spiffe://${TD}/orders`;
let signer: Signer;
let verifier: EnvelopeVerifier;
const b64 = (s: string) => Buffer.from(s).toString('base64url');

async function refused(raw: string, reason: string): Promise<void> {
  await assert.rejects(verifier.open(raw, 'orders.eu'), (e: unknown) => e instanceof MessageRejected && e.reason === reason);
}

async function signed(body: Record<string, unknown>): Promise<string> {
  const full = { v: 1, channel: 'orders.eu', from: FROM, iat: Math.floor(Date.now() / 1000), nonce: Math.random().toString(36), contentType: 'text/plain', payload: 'p', ...body };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full))).setProtectedHeader({ alg: signer.alg, x5c: signer.x5c }).sign(signer.key);
}

before(async () => {
  const ca = await createRootCA({ trustDomain: TD, days: 1 });
  const svid = await issueSvidWithKey(ca, { spiffeId: FROM });
  signer = signerFromPem(FROM, svid.chainPem, svid.keyPem);
  verifier = new EnvelopeVerifier({ bundle: () => TrustBundle.fromCertificates([ca.cert]), acl: () => new ChannelAcl([{ channel: 'orders.*', publish: [{ spiffeId: FROM }] }]) });
});

test('control: a sealed envelope and a hand-signed one open', async () => {
  assert.equal((await verifier.open(await sealEnvelope(signer, 'orders.eu', 'hi'), 'orders.eu')).payload, 'hi');
  assert.equal((await verifier.open(await signed({}), 'orders.eu')).contentType, 'text/plain');
});

test('an unsigned header whose alg is an object with its own toString: MessageRejected malformed', async () => {
  await refused(`${b64('{"alg":{"toString":false}}')}.${b64('{}')}.x`, 'malformed');
  await refused(`${b64('{"alg":[{"toString":1}],"x5c":[]}')}.${b64('{}')}.x`, 'malformed');
});

test('a signed body whose from is an object with its own toString: MessageRejected wrong-sender', async () => {
  await refused(await signed({ from: { toString: 1 } }), 'wrong-sender');
});

test('a signed body whose contentType is not a string: MessageRejected malformed', async () => {
  await refused(await signed({ contentType: { toString: 1 } }), 'malformed');
  await refused(await signed({ contentType: 7 }), 'malformed');
});
