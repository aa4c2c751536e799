/**
 * Signed pub/sub envelopes: a compact JWS signed with the publisher's SVID key, carrying the publisher's
 * certificate chain in `x5c`. Payload v1 (one message): `{v: 1, channel, from, iat, nonce, contentType, payload, jwt?}`;
 * v2 (a batch: publishes issued in the same tick to one channel): `{v: 2, channel, from, iat, nonce, messages:
 * [{contentType, payload}, …], jwt?}`, one signature over all of them.
 * Verification order: size → header → signer chain (trust bundle, valid now, SVID rules) → signature →
 * payload fields → `from` equals the certificate's SPIFFE ID → channel equals the arrival channel →
 * issued-at within the window → ACL → nonce not seen before (last, so refused messages spend no nonce).
 * Signing and verification use node:crypto directly (synchronously: no WebCrypto thread-pool round trip).
 */
import { randomBytes, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { ChannelAcl } from '../auth/policy/channels.js';
import { ReplayCache } from '../auth/replay-cache.js';
import { FlyMeError, flymeError } from '../errors.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import type { Verdict } from '../identity/verdicts.js';
import { verifyPresented } from '../identity/verify.js';
import { certToPem } from '../identity/profile.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_WINDOW_SECONDS = 30;
/** The most messages one batch (v2) envelope may carry; subscribers refuse more as `malformed`. */
export const MAX_BATCH_MESSAGES = 1000;

export interface EnvelopeBody {
  v: 1;
  channel: string;
  from: string;
  iat: number;
  nonce: string;
  contentType: string;
  payload: string;
  /** A token (from a trusted issuer) whose roles count for the channel ACL. */
  jwt?: string;
}

/** A batch envelope: messages published in the same tick to one channel, in order, under one signature and nonce. */
export interface BatchEnvelopeBody {
  v: 2;
  channel: string;
  from: string;
  iat: number;
  nonce: string;
  messages: Array<{ contentType: string; payload: string }>;
  jwt?: string;
}

export interface Signer {
  spiffeId: string;
  key: KeyObject;
  alg: 'ES256' | 'EdDSA';
  /** base64 DER, leaf first (x5c). */
  x5c: string[];
}

export function signerFromPem(spiffeId: string, chainPem: string, keyPem: string): Signer {
  const key = createPrivateKey(keyPem);
  const alg = key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256';
  const x5c = [...chainPem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ''));
  return { spiffeId, key, alg, x5c };
}

/** The protected header segment of a signer's envelopes (the same for every message it signs). */
const headerSegments = new WeakMap<Signer, { alg: string; x5c: string[]; segment: string }>();
function headerSegment(s: Signer): string {
  let h = headerSegments.get(s);
  if (!h || h.alg !== s.alg || h.x5c !== s.x5c) {
    h = { alg: s.alg, x5c: s.x5c, segment: Buffer.from(JSON.stringify({ alg: s.alg, typ: 'flyme-pubsub+jws', x5c: s.x5c })).toString('base64url') };
    headerSegments.set(s, h);
  }
  return h.segment;
}

/** Length of unpadded base64url for `n` bytes. */
const b64Length = (n: number): number => Math.floor(n / 3) * 4 + [0, 2, 3][n % 3]!;
/** Both ES256 (P1363 r‖s) and Ed25519 signatures are 64 bytes. */
const SIGNATURE_CHARS = b64Length(64);

/** Compact JWS over `bodyJson` (RFC 7515; ES256 signatures in the JOSE r‖s form). */
function signCompact(s: Signer, bodyJson: string, max: number): string {
  const input = `${headerSegment(s)}.${Buffer.from(bodyJson).toString('base64url')}`;
  const length = input.length + 1 + SIGNATURE_CHARS;
  if (length > max) throw flymeError('FLYME_FRAME_TOO_LARGE', `the signed message is ${length} bytes; the limit is ${max}`, { maxBytes: max });
  const data = Buffer.from(input, 'latin1');
  const signature = s.alg === 'EdDSA' ? sign(null, data, s.key) : sign('sha256', data, { key: s.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const nonceAndTime = (now: (() => number) | undefined) => ({ iat: Math.floor((now ?? Date.now)() / 1000), nonce: randomBytes(16).toString('base64url') });

/** `now` (milliseconds since the epoch) sets the signing time; tests use it, callers leave it out. */
export async function sealEnvelope(s: Signer, channel: string, payload: string, o: { contentType?: string; jwt?: string; maxBytes?: number; now?: () => number } = {}): Promise<string> {
  return sealMessage(s, channel, payload, o);
}

/** sealEnvelope, synchronously (the publisher's batcher seals in publication order). */
export function sealMessage(s: Signer, channel: string, payload: string, o: { contentType?: string; jwt?: string; maxBytes?: number; now?: () => number } = {}): string {
  const body: EnvelopeBody = {
    v: 1, channel, from: s.spiffeId, ...nonceAndTime(o.now),
    contentType: o.contentType ?? 'text/plain', payload, ...(o.jwt ? { jwt: o.jwt } : {}),
  };
  return signCompact(s, JSON.stringify(body), o.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
}

/** One message of a batch as its JSON text (`{"contentType":…,"payload":…}`), made once by the publisher. */
export function batchItem(payload: string, contentType = 'text/plain'): string {
  return JSON.stringify({ contentType, payload });
}

/** The fixed part of a batch envelope's body, around the items (`iat` is 10 digits until the year 2286). */
function batchFrame(s: Signer, channel: string, iat: number, nonce: string, jwt: string | undefined): [string, string] {
  return [`{"v":2,"channel":${JSON.stringify(channel)},"from":${JSON.stringify(s.spiffeId)},"iat":${iat},"nonce":"${nonce}","messages":[`, `]${jwt ? `,"jwt":${JSON.stringify(jwt)}` : ''}}`];
}

/** The length of the batch envelope `sealBatch` would make of items whose JSON texts total `itemBytes` UTF-8 bytes. */
export function batchEnvelopeLength(s: Signer, channel: string, count: number, itemBytes: number, jwt?: string): number {
  const [head, tail] = batchFrame(s, channel, 1_000_000_000, 'x'.repeat(22), jwt);
  const body = Buffer.byteLength(head) + Buffer.byteLength(tail) + itemBytes + Math.max(0, count - 1);
  return headerSegment(s).length + 1 + b64Length(body) + 1 + SIGNATURE_CHARS;
}

/** A v2 envelope of `items` (from batchItem), in order, under one signature; FLYME_FRAME_TOO_LARGE above `maxBytes`. */
export function sealBatch(s: Signer, channel: string, items: readonly string[], o: { jwt?: string; maxBytes?: number; now?: () => number } = {}): string {
  if (items.length === 0 || items.length > MAX_BATCH_MESSAGES) throw flymeError('FLYME_INVALID_PARAMS', `a batch holds 1 to ${MAX_BATCH_MESSAGES} messages, not ${items.length}`);
  const { iat, nonce } = nonceAndTime(o.now);
  const [head, tail] = batchFrame(s, channel, iat, nonce, o.jwt);
  return signCompact(s, head + items.join(',') + tail, o.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
}

export interface VerifiedMessage {
  channel: string;
  from: string;
  payload: string;
  contentType: string;
  sentAt: Date;
  /** Roles that counted for the ACL (from the envelope's token). */
  roles: string[];
}

export type RejectReason = 'oversize' | 'malformed' | 'untrusted-signer' | 'bad-signature' | 'wrong-sender' | 'wrong-channel' | 'stale' | 'not-allowed' | 'replayed' | 'bad-token';

/** A refused pub/sub message: a FlyMeError with code FLYME_MESSAGE_REJECTED and `reason` (also in `data.reason`). */
export class MessageRejected extends FlyMeError {
  constructor(readonly reason: RejectReason, message: string, readonly from?: string) {
    super('FLYME_MESSAGE_REJECTED', message, { data: { reason, ...(from !== undefined ? { from } : {}) } });
    this.name = 'MessageRejected';
  }

  /** Only MessageRejected instances (FlyMeError's brand check would match every FlyMeError). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

export interface VerifierOptions {
  bundle: () => TrustBundle;
  acl: () => ChannelAcl;
  windowSeconds?: number;
  maxBytes?: number;
  replay?: ReplayCache;
  /** Verify an envelope's token and return the roles it grants (claimed ∩ allowed); throw to reject. */
  tokenRoles?(jwt: string, from: string): Promise<string[]>;
  /** Roles the server's policy gives a signer's SPIFFE ID (its bindings), on top of a token's. */
  rolesOf?(spiffeId: string): string[];
  /** The clock for the freshness window, the signer's certificate validity and the nonce cache, in milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

interface KnownSigner { spiffeId: string; key: KeyObject }

/** An untrusted JSON value for a message: never String() (an object with its own `toString` member throws). */
function show(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 256) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url (no padding, no other characters), else undefined. */
function fromBase64url(segment: string): Buffer | undefined {
  return BASE64URL.test(segment) && segment.length % 4 !== 1 ? Buffer.from(segment, 'base64url') : undefined;
}

/** The verification key of a verified leaf for `alg`: P-256 for ES256, Ed25519 for EdDSA; anything else throws. */
function leafKey(verdict: Verdict, alg: 'ES256' | 'EdDSA'): KeyObject {
  const key = createPublicKey(certToPem(verdict.chain[0]!));
  const fits = alg === 'EdDSA' ? key.asymmetricKeyType === 'ed25519' : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!fits) throw new TypeError(`the certificate's ${key.asymmetricKeyType ?? 'unknown'} key does not fit alg ${alg}`);
  return key;
}

/** Imported verification keys per verified chain (the verdict itself lives in the shared verification cache). */
const importedKeys = new WeakMap<Verdict, Map<string, KeyObject>>();

/** A message's members, checked: a v1 body, or each member of a v2 body's `messages`. */
function items(body: EnvelopeBody | BatchEnvelopeBody): Array<{ contentType: string; payload: string }> | undefined {
  if (body.v === 1) return typeof body.payload === 'string' && typeof body.contentType === 'string' ? [{ contentType: body.contentType, payload: body.payload }] : undefined;
  if (body.v !== 2 || !Array.isArray(body.messages) || body.messages.length === 0 || body.messages.length > MAX_BATCH_MESSAGES) return undefined;
  for (const m of body.messages as unknown[]) {
    if (typeof m !== 'object' || m === null || typeof (m as { payload?: unknown }).payload !== 'string' || typeof (m as { contentType?: unknown }).contentType !== 'string') return undefined;
  }
  return body.messages;
}

export class EnvelopeVerifier {
  readonly #replay: ReplayCache;
  constructor(private readonly o: VerifierOptions) {
    this.#replay = o.replay ?? new ReplayCache({ maxEntries: 100_000 });
  }

  /** The signer of an x5c chain, verified against the current bundle through the shared verification cache. */
  async #signer(x5c: string[], alg: 'ES256' | 'EdDSA', nowMs: number): Promise<KnownSigner> {
    const verdict = await verifyPresented(x5c.map((b) => new Uint8Array(Buffer.from(b, 'base64'))), this.o.bundle(), nowMs);
    let keys = importedKeys.get(verdict);
    if (!keys) importedKeys.set(verdict, (keys = new Map()));
    let key = keys.get(alg);
    if (!key) keys.set(alg, (key = leafKey(verdict, alg)));
    return { spiffeId: verdict.spiffeId.toString(), key };
  }

  /** One message (a v1 envelope, or a v2 batch of one). Throws MessageRejected with the reason. `arrivedOn` is the channel Redis delivered it on. */
  async open(raw: string, arrivedOn: string): Promise<VerifiedMessage> {
    return (await this.#open(raw, arrivedOn, true))[0]!;
  }

  /** The messages of an envelope, v1 (one) or v2 (a batch, in order), all or none. Throws MessageRejected with the reason. */
  openAll(raw: string, arrivedOn: string): Promise<VerifiedMessage[]> {
    return this.#open(raw, arrivedOn, false);
  }

  async #open(raw: string, arrivedOn: string, single: boolean): Promise<VerifiedMessage[]> {
    const nowMs = (this.o.now ?? Date.now)();
    const max = this.o.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (raw.length > max) throw new MessageRejected('oversize', `message of ${raw.length} bytes exceeds ${max}`);
    const segments = raw.split('.', 4);
    let header: { alg?: unknown; x5c?: unknown; crit?: unknown };
    try {
      header = JSON.parse(fromBase64url(segments[0]!)!.toString('utf8')) as typeof header;
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new TypeError('not an object');
    } catch {
      throw new MessageRejected('malformed', 'not a FlyMe signed envelope (no JWS header)');
    }
    if ((header.alg !== 'ES256' && header.alg !== 'EdDSA') || !Array.isArray(header.x5c) || header.x5c.length === 0 || header.x5c.length > 4) {
      throw new MessageRejected('malformed', `unsupported envelope header (alg ${show(header.alg)}, x5c ${Array.isArray(header.x5c) ? header.x5c.length : 'missing'})`);
    }
    let signer: KnownSigner;
    try {
      signer = await this.#signer(header.x5c as string[], header.alg, nowMs);
    } catch (e) {
      throw new MessageRejected('untrusted-signer', `signer certificate refused: ${(e as Error).message}`);
    }
    const spiffeId = signer.spiffeId;
    let body: EnvelopeBody | BatchEnvelopeBody;
    try {
      // A compact JWS is exactly three segments; no critical extensions (FlyMe envelopes use none).
      if (segments.length !== 3 || header.crit !== undefined) throw new TypeError('not a FlyMe compact JWS');
      const signature = fromBase64url(segments[2]!);
      const payload = fromBase64url(segments[1]!);
      if (!signature || !payload || signature.length !== 64) throw new TypeError('bad encoding');
      const data = Buffer.from(raw.slice(0, segments[0]!.length + 1 + segments[1]!.length), 'latin1');
      const ok = header.alg === 'EdDSA' ? verify(null, data, signer.key, signature) : verify('sha256', data, { key: signer.key, dsaEncoding: 'ieee-p1363' }, signature);
      if (!ok) throw new TypeError('signature mismatch');
      body = JSON.parse(payload.toString('utf8')) as EnvelopeBody | BatchEnvelopeBody;
    } catch {
      throw new MessageRejected('bad-signature', `signature does not verify for ${spiffeId}`, spiffeId);
    }
    const messages = body !== null && typeof body === 'object' ? items(body) : undefined;
    if (!messages || typeof body.channel !== 'string' || typeof body.nonce !== 'string' || !Number.isInteger(body.iat)) {
      throw new MessageRejected('malformed', 'envelope fields missing', spiffeId);
    }
    if (single && messages.length !== 1) throw new MessageRejected('malformed', `a batch of ${messages.length} messages (open it with openAll)`, spiffeId);
    if (body.from !== spiffeId) throw new MessageRejected('wrong-sender', `envelope claims ${show(body.from)} but is signed by ${spiffeId}`, spiffeId);
    if (body.channel !== arrivedOn) throw new MessageRejected('wrong-channel', `envelope for channel ${body.channel} arrived on ${arrivedOn} (cross-channel replay)`, spiffeId);
    const now = nowMs / 1000;
    const window = this.o.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    if (Math.abs(now - body.iat) > window) throw new MessageRejected('stale', `issued ${Math.round(now - body.iat)} s ago; the window is ${window} s`, spiffeId);
    let roles: string[] = [];
    if (body.jwt !== undefined) {
      if (!this.o.tokenRoles) throw new MessageRejected('bad-token', 'the envelope carries a token but no token verifier is configured', spiffeId);
      try {
        roles = await this.o.tokenRoles(body.jwt, spiffeId);
      } catch (e) {
        throw new MessageRejected('bad-token', `envelope token refused: ${(e as Error).message}`, spiffeId);
      }
    }
    if (this.o.rolesOf) roles = [...new Set([...this.o.rolesOf(spiffeId), ...roles])];
    if (!this.o.acl().canPublish({ spiffeId, roles }, arrivedOn)) throw new MessageRejected('not-allowed', `${spiffeId} may not publish to ${arrivedOn}`, spiffeId);
    try {
      this.#replay.check({ iss: `pubsub:${spiffeId}`, jti: body.nonce, forgetAfterMs: (body.iat + window) * 1000 + 1000, oneTime: true }, nowMs);
    } catch (e) {
      throw new MessageRejected('replayed', `nonce already seen: ${(e as Error).message}`, spiffeId);
    }
    const sentAt = body.iat * 1000;
    return messages.map((m) => ({ channel: arrivedOn, from: spiffeId, payload: m.payload, contentType: m.contentType, sentAt: new Date(sentAt), roles }));
  }
}
