/**
 * TokenVerifier: a signature check on node:crypto (fast-jwt, see signature-check.ts) with FlyMe's policy around it — an explicit algorithm
 * allow-list, kid-only key selection, every registered claim required, a maximum lifetime,
 * certificate binding (RFC 8705) and replay refusal. Order: size → header → signature →
 * claims → binding → replay, so a refused token never consumes a replay-cache entry.
 * A token presented again (a bearer token on every call) reuses the verdict on its exact text while the
 * key set is the same object and its time claims hold; binding, the caller's check and replay run every time.
 */
import type { JSONWebKeySet, JWSHeaderParameters, JWTPayload } from 'jose';
import { flymeError } from '../../errors.js';
import type { TokenIdentity } from '../principal.js';
import { ReplayCache } from '../replay-cache.js';
import { certificateThumbprint, thumbprintsEqual } from '../thumbprint.js';
import { DEFAULT_ALGORITHMS, checkAlgorithms, type JwtAlgorithm } from './algorithms.js';
import { checkClaims, type CheckedClaims } from './claims.js';
import { staticKeySource, type KeySource } from './jwks-source.js';
import { checkSeconds, checkText } from './options.js';
import { SignatureCheck } from './signature-check.js';
import type { VerificationKeySet } from './verification-keys.js';

/** Options for {@link TokenVerifier}. */
export interface TokenVerifierOptions {
  /** A key source (e.g. a watched JwksFileSource) or a fixed JWKS object. */
  keys: KeySource | JSONWebKeySet;
  /** Accepted audience(s); required. */
  audience: string | readonly string[];
  /** Trusted issuer(s). When omitted any issuer signing with a key of the set is accepted (iss is still required). */
  issuer?: string | readonly string[];
  /** Allow-list (default ES256, EdDSA). HS256 must be listed explicitly and needs an oct key in the set. */
  algorithms?: readonly JwtAlgorithm[];
  /** Maximum exp - iat in seconds (default 3600). */
  maxLifetimeSeconds?: number;
  /** Clock-skew tolerance in seconds for exp/nbf/iat (default 30). */
  clockSkewSeconds?: number;
  /** Claim holding the roles (default `roles`). */
  rolesClaim?: string;
  /** Replay cache; default a private `new ReplayCache()` (10 000 entries). Share one per process. */
  replayCache?: ReplayCache;
  /** Treat every token as one-time, whatever its claims say (default false). */
  requireOneTime?: boolean;
  /** Longest compact token accepted, in characters (default 8192). */
  maxTokenLength?: number;
  /** Clock (tests freeze it). Default `() => new Date()`. */
  clock?: () => Date;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Tokens whose signature and claims were accepted, remembered for re-presentations: at most this many, in two
 * generations of half as many each (a full current generation becomes the older one, the older one is dropped;
 * a token found in the older one moves to the current one). Dropping a whole generation costs nothing per token,
 * where taking the oldest entry out of one Map walked the holes its deletions left at its front.
 */
const MAX_VERDICTS = 1024;

/**
 * The verdict on one exact token string: valid for the key set that verified it, and only while every
 * time claim holds without the skew allowance (from max(nbf, iat) to min(exp, iat + max lifetime)). Outside
 * that window, or with another key set, the token is verified again in full.
 */
interface Verdict {
  keys: VerificationKeySet;
  payload: JWTPayload;
  header: JWSHeaderParameters;
  checked: Omit<CheckedClaims, 'identity'> & { identity: SharedTokenIdentity };
  fromS: number;
  untilS: number;
}

/** A verified token's identity as {@link TokenVerifier.checkNow} returns it: frozen, shared by every presentation. */
export type SharedTokenIdentity = Readonly<Omit<TokenIdentity, 'aud' | 'claimedRoles'> & { aud: readonly string[]; claimedRoles: readonly string[] }>;

/** What one presentation established (see #present). */
interface Presentation {
  /** Its `keys` are the key set in force for this presentation (a remembered verdict is used only with the same set). */
  verdict: Verdict;
  oneTime: boolean;
  certThumbprint: string | undefined;
}

/** Per-presentation context. */
export interface VerifyContext {
  /** The connection presenting the token: it binds to the first one. Absent = single use. */
  connectionId?: string;
  /** DER of the client certificate of that connection, for `cnf` bound tokens. */
  clientCertDer?: Uint8Array;
  /** The caller's own checks, run after every built-in one and before the jti is recorded: throw to refuse. */
  check?(identity: TokenIdentity): void;
}

/** A token that passed every check. */
export interface VerifiedToken {
  identity: TokenIdentity;
  claims: JWTPayload;
  kid: string;
  alg: JwtAlgorithm;
  oneTime: boolean;
  /** Present when the token was certificate-bound (and the presented certificate matched). */
  certThumbprint?: string;
  /** Digest of the key that verified it (see VerificationKeySet.keyFingerprint). */
  keyFingerprint?: string;
}

/**
 * Verifies FlyMe tokens. Throws FlyMeError with FLYME_TOKEN_* codes.
 *
 * @example
 * const verifier = new TokenVerifier({ keys: await JwksFileSource.open('jwks.json', { algorithms: ['ES256'] }),
 *   audience: 'flymed', issuer: 'flyme' })
 * const { identity } = await verifier.verify(token, { connectionId: conn.id, clientCertDer: cert.raw })
 */
export class TokenVerifier {
  readonly algorithms: readonly JwtAlgorithm[];
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly rolesClaim: string;
  readonly replayCache: ReplayCache;
  readonly #keys: KeySource;
  readonly #audience: string[];
  readonly #issuer: string[] | undefined;
  readonly #requireOneTime: boolean;
  readonly #maxTokenLength: number;
  /** The clock in ms (a Date is built only when a token is verified in full). */
  readonly #nowMs: () => number;
  #verdicts = new Map<string, Verdict>();
  #olderVerdicts = new Map<string, Verdict>();
  /**
   * The last presentation that passed every check, when it named its connection: its text and verdict. The next
   * presentation on the same connection compares its text with it before the verdict map: a header's token
   * arrives as a new string on every call, and a map lookup hashes all of its ~400 characters each time. Only
   * the same connection compares against it, so a caller learns nothing from how long the comparison takes
   * about a token another connection presented. Three fields, rewritten in place: connections taking turns
   * replace them on every presentation, and that should not allocate.
   */
  #lastConnectionId: string | undefined;
  #lastToken = '';
  #lastVerdict: Verdict | undefined;
  /** Signature, header and registered claims (fast-jwt on node:crypto; see signature-check.ts). */
  readonly #signatureCheck: SignatureCheck;

  constructor(options: TokenVerifierOptions) {
    this.algorithms = Object.freeze(checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS));
    this.maxLifetimeSeconds = checkSeconds(options.maxLifetimeSeconds ?? 3600, 'maxLifetimeSeconds');
    this.clockSkewSeconds = checkSeconds(options.clockSkewSeconds ?? 30, 'clockSkewSeconds');
    this.rolesClaim = checkText(options.rolesClaim ?? 'roles', 'rolesClaim');
    this.#audience = textList(options.audience, 'audience');
    this.#issuer = options.issuer === undefined ? undefined : textList(options.issuer, 'issuer');
    this.replayCache = options.replayCache ?? new ReplayCache();
    this.#requireOneTime = options.requireOneTime === true;
    this.#maxTokenLength = options.maxTokenLength ?? 8192;
    const clock = options.clock;
    this.#nowMs = clock ? () => clock().getTime() : Date.now;
    const keys = options.keys as Partial<KeySource>;
    this.#keys = typeof keys.current === 'function' ? (keys as KeySource) : staticKeySource(options.keys, this.algorithms);
    this.#signatureCheck = new SignatureCheck({
      algorithms: this.algorithms,
      audience: this.#audience,
      issuer: this.#issuer,
      clockSkewSeconds: this.clockSkewSeconds,
      maxLifetimeSeconds: this.maxLifetimeSeconds,
    });
  }

  /**
   * Verifies a compact JWT for one presentation and records it in the replay cache.
   *
   * @example
   * await verifier.verify(token, { connectionId: 'conn-42' })
   */
  async verify(token: string, context: VerifyContext = {}): Promise<VerifiedToken> {
    return this.verifyNow(token, context);
  }

  /**
   * {@link verify} without the promise: the same checks, in the same order, done before it returns; a refused
   * token throws. For per-call paths (the gRPC interceptor) that can then finish in the same tick.
   */
  verifyNow(token: string, context: VerifyContext = {}): VerifiedToken {
    const { verdict, oneTime, certThumbprint } = this.#present(token, context);
    const { payload, header, checked, keys } = verdict;
    // A remembered verdict is shared: every caller gets its own copies to keep (and change).
    return {
      identity: copyIdentity(checked.identity),
      claims: { ...payload },
      kid: header.kid as string,
      alg: header.alg as JwtAlgorithm,
      oneTime,
      ...(keyFingerprintOf(keys, header.kid)),
      ...(certThumbprint !== undefined ? { certThumbprint } : {}),
    };
  }

  /**
   * {@link verifyNow}'s checks, every one of them, without copying the result: the identity returned is the
   * remembered verdict's own frozen object, shared by every presentation of the same token text. For per-call
   * paths that only need to know the token passed (the gRPC interceptor, which copies it when it builds a
   * principal). A refused token throws, as in verifyNow.
   *
   * @example
   * const who = verifier.checkNow(token, { connectionId: 'conn-42' }) // who.sub, who.claimedRoles (read-only)
   */
  checkNow(token: string, context: VerifyContext = {}): SharedTokenIdentity {
    return this.#present(token, context).verdict.checked.identity;
  }

  /**
   * One presentation: size, format, the verdict (remembered while its key set and time window hold, else the
   * signature and claims again), certificate binding, the caller's check, replay. Throws on the first refusal.
   */
  #present(token: string, context: VerifyContext): Presentation {
    if (typeof token !== 'string' || token.length === 0 || token.length > this.#maxTokenLength) {
      throw flymeError('FLYME_TOKEN_INVALID', `the token is empty or longer than ${this.#maxTokenLength} characters`, { reason: 'size' });
    }
    // A remembered verdict is keyed by the exact text, which passed the format check below when it was verified.
    const connectionId = context.connectionId;
    const seen = connectionId !== undefined && this.#lastConnectionId === connectionId && this.#lastToken === token
      ? this.#lastVerdict
      : this.#verdicts.get(token) ?? this.#remembered(token);
    // Strict compact form: base64url's lenient decoders skip whitespace and stray characters, so a token with
    // an appended space would otherwise verify as if it were the original.
    if (seen === undefined && !COMPACT_JWS.test(token)) {
      throw flymeError('FLYME_TOKEN_INVALID', 'the token is not a compact JWS (three base64url parts separated by dots)', { reason: 'format' });
    }
    const nowMs = this.#nowMs();
    const keys = this.#keys.current();
    const nowS = Math.floor(nowMs / 1000);
    const verdict = seen !== undefined && seen.keys === keys && nowS >= seen.fromS && nowS < seen.untilS
      ? seen
      : this.#verifySignedToken(token, keys, new Date(nowMs));
    const { checked } = verdict;
    const certThumbprint = this.#checkBinding(checked.boundThumbprint, context.clientCertDer);
    const oneTime = checked.oneTime || this.#requireOneTime;
    if (context.check) context.check(copyIdentity(checked.identity));
    this.replayCache.check(
      {
        iss: checked.identity.iss,
        jti: checked.identity.jti,
        forgetAfterMs: (checked.identity.exp + this.clockSkewSeconds) * 1000,
        oneTime,
        connectionId: context.connectionId,
      },
      nowMs,
    );
    if (connectionId !== undefined) {
      this.#lastConnectionId = connectionId;
      this.#lastToken = token;
      this.#lastVerdict = verdict;
    }
    return { verdict, oneTime, certThumbprint };
  }

  /** Signature, header and registered claims (SignatureCheck), then FlyMe's claim checks; remembers the verdict. */
  #verifySignedToken(token: string, keys: VerificationKeySet, now: Date): Verdict {
    const { payload, header } = this.#signatureCheck.verify(token, keys, now);
    const claims = checkClaims(payload, this.rolesClaim, this.maxLifetimeSeconds);
    // Frozen: checkNow hands this very object to every presentation of the token (checkClaims built its arrays
    // for this verdict alone, so they are frozen as they are).
    const { aud, claimedRoles } = claims.identity;
    const identity: SharedTokenIdentity = Object.freeze({ ...claims.identity, aud: Object.freeze(aud), claimedRoles: Object.freeze(claimedRoles) });
    const checked = { ...claims, identity };
    const { exp, iat, nbf } = payload as { exp: number; iat: number; nbf: number };
    const verdict: Verdict = { keys, payload, header, checked, fromS: Math.max(nbf, iat), untilS: Math.min(exp, iat + this.maxLifetimeSeconds) };
    this.#remember(token, verdict);
    return verdict;
  }

  /** A verdict of the older generation, moved to the current one (a token still presented stays remembered). */
  #remembered(token: string): Verdict | undefined {
    const v = this.#olderVerdicts.get(token);
    if (v !== undefined) {
      this.#olderVerdicts.delete(token);
      this.#remember(token, v);
    }
    return v;
  }

  #remember(token: string, verdict: Verdict): void {
    if (this.#verdicts.size >= MAX_VERDICTS / 2) {
      this.#olderVerdicts = this.#verdicts;
      this.#verdicts = new Map();
    }
    this.#verdicts.set(token, verdict);
  }

  #checkBinding(bound: string | undefined, der: Uint8Array | undefined): string | undefined {
    if (bound === undefined) return undefined;
    if (der === undefined || der.length === 0) {
      throw flymeError('FLYME_TOKEN_UNBOUND', 'the token is bound to a client certificate but none was presented', { claim: 'cnf' });
    }
    if (!thumbprintsEqual(certificateThumbprint(der), bound)) {
      throw flymeError('FLYME_TOKEN_UNBOUND', 'the token is bound to a different client certificate', { claim: 'cnf' });
    }
    return bound;
  }
}

/** A caller's own copy of a shared identity (arrays included). */
export function copyIdentity(id: SharedTokenIdentity): TokenIdentity {
  return { ...id, aud: [...id.aud], claimedRoles: [...id.claimedRoles] };
}

function keyFingerprintOf(keys: { keyFingerprint?(kid: string): string | undefined }, kid: unknown): { keyFingerprint?: string } {
  const fp = typeof kid === 'string' ? keys.keyFingerprint?.(kid) : undefined;
  return fp !== undefined ? { keyFingerprint: fp } : {};
}

function textList(value: string | readonly string[], name: string): string[] {
  const list = typeof value === 'string' ? [value] : [...value];
  if (list.length === 0) throw flymeError('FLYME_INVALID_CONFIG', `${name} must name at least one value`);
  return list.map((v) => checkText(v, name));
}
