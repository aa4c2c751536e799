/**
 * Signed pub/sub envelopes: a compact JWS (jose) signed with the publisher's SVID key, carrying the
 * publisher's certificate chain in `x5c`. Payload: `{v, channel, from, iat, nonce, contentType, payload, jwt?}`.
 * Verification order: size → header → signer chain (trust bundle, valid now, SVID rules) → signature →
 * payload fields → `from` equals the certificate's SPIFFE ID → channel equals the arrival channel →
 * issued-at within the window → ACL → nonce not seen before (last, so refused messages spend no nonce).
 */
import { randomBytes, createPrivateKey, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, importX509 } from 'jose';
type KeyLike = Awaited<ReturnType<typeof importX509>>;
import type { ChannelAcl } from '../auth/policy/channels.js';
import { ReplayCache } from '../auth/replay-cache.js';
import { FlyMeError, flymeError } from '../errors.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import type { Verdict } from '../identity/verdicts.js';
import { verifyPresented } from '../identity/verify.js';
import { certToPem } from '../identity/profile.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_WINDOW_SECONDS = 30;

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

/** `now` (milliseconds since the epoch) sets the signing time; tests use it, callers leave it out. */
export async function sealEnvelope(s: Signer, channel: string, payload: string, o: { contentType?: string; jwt?: string; maxBytes?: number; now?: () => number } = {}): Promise<string> {
  const body: EnvelopeBody = {
    v: 1, channel, from: s.spiffeId, iat: Math.floor((o.now ?? Date.now)() / 1000), nonce: randomBytes(16).toString('base64url'),
    contentType: o.contentType ?? 'text/plain', payload, ...(o.jwt ? { jwt: o.jwt } : {}),
  };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(body))).setProtectedHeader({ alg: s.alg, typ: 'flyme-pubsub+jws', x5c: s.x5c }).sign(s.key);
  const max = o.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (jws.length > max) throw flymeError('FLYME_FRAME_TOO_LARGE', `the signed message is ${jws.length} bytes; the limit is ${max}`, { maxBytes: max });
  return jws;
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

interface KnownSigner { spiffeId: string; key: KeyLike }

/** An untrusted JSON value for a message: never String() (an object with its own `toString` member throws). */
function show(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 256) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

/** Imported verification keys per verified chain (the verdict itself lives in the shared verification cache). */
const importedKeys = new WeakMap<Verdict, Map<string, Promise<KeyLike>>>();

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
    if (!key) {
      key = importX509(certToPem(verdict.chain[0]!), alg);
      keys.set(alg, key);
      key.catch(() => keys.delete(alg));
    }
    return { spiffeId: verdict.spiffeId.toString(), key: await key };
  }

  /** Throws MessageRejected with the reason. `arrivedOn` is the channel Redis delivered it on. */
  async open(raw: string, arrivedOn: string): Promise<VerifiedMessage> {
    const nowMs = (this.o.now ?? Date.now)();
    const max = this.o.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (raw.length > max) throw new MessageRejected('oversize', `message of ${raw.length} bytes exceeds ${max}`);
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(raw);
    } catch {
      throw new MessageRejected('malformed', 'not a FlyMe signed envelope (no JWS header)');
    }
    if ((header.alg !== 'ES256' && header.alg !== 'EdDSA') || !Array.isArray(header.x5c) || header.x5c.length === 0 || header.x5c.length > 4) {
      throw new MessageRejected('malformed', `unsupported envelope header (alg ${show(header.alg)}, x5c ${Array.isArray(header.x5c) ? header.x5c.length : 'missing'})`);
    }
    let signer: KnownSigner;
    try {
      signer = await this.#signer(header.x5c, header.alg, nowMs);
    } catch (e) {
      throw new MessageRejected('untrusted-signer', `signer certificate refused: ${(e as Error).message}`);
    }
    const spiffeId = signer.spiffeId;
    let body: EnvelopeBody;
    try {
      const { payload } = await compactVerify(raw, signer.key, { algorithms: [header.alg] });
      body = JSON.parse(new TextDecoder().decode(payload)) as EnvelopeBody;
    } catch {
      throw new MessageRejected('bad-signature', `signature does not verify for ${spiffeId}`, spiffeId);
    }
    if (body?.v !== 1 || typeof body.channel !== 'string' || typeof body.payload !== 'string' || typeof body.nonce !== 'string' || !Number.isInteger(body.iat)
      || typeof body.contentType !== 'string') {
      throw new MessageRejected('malformed', 'envelope fields missing', spiffeId);
    }
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
    return { channel: arrivedOn, from: spiffeId, payload: body.payload, contentType: body.contentType, sentAt: new Date(body.iat * 1000), roles };
  }
}
