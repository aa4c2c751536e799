import { flymeError } from '../errors.js';

/** Longest SPIFFE ID accepted, in bytes of its URI form (SPIFFE-ID spec). */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** Longest trust domain name accepted, in bytes (SPIFFE-ID spec). */
export const MAX_TRUST_DOMAIN_BYTES = 255;

const SCHEME_PREFIX = 'spiffe://';
const TD_CHAR = /^[a-z0-9._-]$/;
const PATH_CHAR = /^[A-Za-z0-9._-]$/;

/** Rules a SPIFFE ID can break; `FlyMeError.data.rule` of FLYME_INVALID_SPIFFE_ID. */
export type SpiffeIdRule =
  | 'empty' | 'too-long' | 'scheme' | 'trust-domain-missing' | 'trust-domain-too-long' | 'trust-domain-char'
  | 'path-char' | 'empty-segment' | 'trailing-slash' | 'dot-segment'
  | 'port' | 'userinfo' | 'percent-encoding' | 'query' | 'fragment';

function fail(rule: SpiffeIdRule, input: string, detail: string): never {
  throw flymeError('FLYME_INVALID_SPIFFE_ID', `invalid SPIFFE ID: ${detail}`, { rule, input: input.slice(0, 256) });
}

function showChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return cp >= 0x21 && cp <= 0x7e ? `'${c}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Characters that are URI syntax FlyMe refuses, with the rule they would smuggle in. */
const SPECIAL: Record<string, [SpiffeIdRule, string]> = {
  ':': ['port', 'ports are not allowed'],
  '@': ['userinfo', 'userinfo is not allowed'],
  '%': ['percent-encoding', 'percent-encoding is not allowed'],
  '?': ['query', 'a query is not allowed'],
  '#': ['fragment', 'a fragment is not allowed'],
};

function checkChars(input: string, part: string, where: 'trust domain' | 'path segment', allowed: RegExp): void {
  for (const c of part) {
    if (allowed.test(c)) continue;
    const special = SPECIAL[c];
    if (special) fail(special[0], input, `${where} contains ${showChar(c)}: ${special[1]}`);
    if (where === 'trust domain') fail('trust-domain-char', input, `trust domain contains uppercase or illegal character ${showChar(c)} (allowed: a-z 0-9 . - _)`);
    fail('path-char', input, `path segment contains illegal character ${showChar(c)} (allowed: A-Z a-z 0-9 . - _)`);
  }
}

function checkTrustDomain(input: string, td: string): void {
  if (td === '') fail('trust-domain-missing', input, 'trust domain is missing (expected spiffe://<trust-domain>/...)');
  if (Buffer.byteLength(td) > MAX_TRUST_DOMAIN_BYTES) fail('trust-domain-too-long', input, `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`);
  checkChars(input, td, 'trust domain', TD_CHAR);
}

function checkPath(input: string, path: string): void {
  if (path === '') return;
  const segments = path.slice(1).split('/');
  segments.forEach((seg, i) => {
    if (seg === '') {
      if (i === segments.length - 1) fail('trailing-slash', input, 'path ends with a trailing slash');
      fail('empty-segment', input, 'path contains an empty segment (//)');
    }
    if (seg === '.' || seg === '..') fail('dot-segment', input, `path contains the dot segment '${seg}'`);
    checkChars(input, seg, 'path segment', PATH_CHAR);
  });
}

/**
 * A validated SPIFFE ID (`spiffe://trust-domain/path`). Instances only exist for strings that pass every
 * rule of the SPIFFE ID specification, so two equal IDs always have the same string form (no percent-decoding,
 * no case folding, no dot segments): compare with `equals` or by `toString()`.
 *
 * @example
 * const id = SpiffeId.parse('spiffe://flyme.local/flymed')
 * id.trustDomain // 'flyme.local'; id.path // '/flymed'; id.memberOf('flyme.local') // true
 */
export class SpiffeId {
  /** Trust domain name, e.g. `flyme.local`. */
  readonly trustDomain: string;
  /** Path including the leading slash, or `''` for the trust domain's own ID. */
  readonly path: string;

  private constructor(trustDomain: string, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
  }

  /**
   * Parses and validates a SPIFFE ID.
   * @throws FlyMeError FLYME_INVALID_SPIFFE_ID; `data.rule` names the broken rule ({@link SpiffeIdRule}).
   */
  static parse(input: string): SpiffeId {
    if (typeof input !== 'string') throw new TypeError('SpiffeId.parse expects a string');
    if (input === '') fail('empty', input, 'the ID is empty');
    if (Buffer.byteLength(input) > MAX_SPIFFE_ID_BYTES) fail('too-long', input, `the ID is longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
    if (!input.startsWith(SCHEME_PREFIX)) {
      fail('scheme', input, "the scheme must be exactly 'spiffe://' (lowercase)");
    }
    const rest = input.slice(SCHEME_PREFIX.length);
    const slash = rest.indexOf('/');
    const td = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    checkTrustDomain(input, td);
    checkPath(input, path);
    return new SpiffeId(td, path);
  }

  /** Builds `spiffe://<trustDomain><path>` and validates it like {@link SpiffeId.parse}. */
  static fromParts(trustDomain: string, path: string): SpiffeId {
    return SpiffeId.parse(`${SCHEME_PREFIX}${trustDomain}${path}`);
  }

  /** True when this is the trust domain's own ID (no path), as carried by CA certificates. */
  get isTrustDomainId(): boolean {
    return this.path === '';
  }

  /** The URI form, `spiffe://trust-domain/path`. */
  toString(): string {
    return `${SCHEME_PREFIX}${this.trustDomain}${this.path}`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** Exact equality (IDs are canonical, so this is string equality). */
  equals(other: SpiffeId): boolean {
    return other instanceof SpiffeId && other.trustDomain === this.trustDomain && other.path === this.path;
  }

  /** True when the ID belongs to the trust domain `td` (a bare name such as `flyme.local`; compared exactly). */
  memberOf(td: string): boolean {
    return this.trustDomain === td;
  }
}

/**
 * Validates a trust domain given as a bare name (`flyme.local`) or as its ID (`spiffe://flyme.local`) and
 * returns the bare name.
 * @throws FlyMeError FLYME_INVALID_SPIFFE_ID; a name followed by a path is refused with rule `trust-domain-char`.
 * @example parseTrustDomain('spiffe://flyme.local') // 'flyme.local'
 */
export function parseTrustDomain(input: string): string {
  if (typeof input !== 'string') throw new TypeError('parseTrustDomain expects a string');
  const id = SpiffeId.parse(input.startsWith(SCHEME_PREFIX) ? input : `${SCHEME_PREFIX}${input}`);
  if (!id.isTrustDomainId) {
    throw flymeError('FLYME_INVALID_SPIFFE_ID', `invalid trust domain: '${input}' has a path; a trust domain is only a name such as 'example.org'`, { rule: 'trust-domain-char', input });
  }
  return id.trustDomain;
}
