import { FlyMeError, flymeError } from '../errors.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import type { X509Certificate } from './x509.js';

/**
 * Decides whether a peer's SPIFFE ID may talk to us. Called only after the peer's certificate chain was
 * verified; `chain` is that verified chain (leaf first) when the identity came from a certificate.
 * Returns normally to allow; **throws** FlyMeError `FLYME_ID_NOT_AUTHORIZED` to deny (the message names
 * the ID and what was expected). Authorizers are pure functions: no I/O, no clock.
 *
 * There is no implicit allow-all: a caller that wants one must spell out {@link authorizeAny}.
 */
export type Authorizer = (id: SpiffeId, chain?: readonly X509Certificate[]) => void;

function deny(id: SpiffeId, expected: string): never {
  throw flymeError('FLYME_ID_NOT_AUTHORIZED', `SPIFFE ID ${id.toString()} is not authorized: expected ${expected}`, {
    spiffeId: id.toString(),
    expected,
  });
}

function toId(id: SpiffeId | string): SpiffeId {
  return typeof id === 'string' ? SpiffeId.parse(id) : id;
}

/**
 * Allows any SPIFFE ID whose chain verified (any trust domain in the bundle).
 * @example tlsOptions({ authorize: authorizeAny() })
 */
export function authorizeAny(): Authorizer {
  return () => undefined;
}

/**
 * Allows exactly one SPIFFE ID.
 * @example authorizeId('spiffe://flyme.local/flymed')
 */
export function authorizeId(expected: SpiffeId | string): Authorizer {
  const want = toId(expected);
  return (id) => {
    if (!want.equals(id)) deny(id, want.toString());
  };
}

/**
 * Allows any ID of the list. An empty list allows nothing (fails closed).
 * @example authorizeOneOf(['spiffe://flyme.local/a', 'spiffe://flyme.local/b'])
 */
export function authorizeOneOf(expected: readonly (SpiffeId | string)[]): Authorizer {
  const wants = expected.map(toId);
  const names = new Set(wants.map((w) => w.toString()));
  const described = wants.length === 0 ? 'one of an empty list (nothing is allowed)' : `one of ${[...names].join(', ')}`;
  return (id) => {
    if (!names.has(id.toString())) deny(id, described);
  };
}

/**
 * Allows every ID of one trust domain (compared exactly).
 * @example authorizeMemberOf('flyme.local')
 */
export function authorizeMemberOf(trustDomain: string): Authorizer {
  const td = parseTrustDomain(trustDomain);
  return (id) => {
    if (!id.memberOf(td)) deny(id, `a member of trust domain ${td}`);
  };
}

/**
 * Allows IDs of `trustDomain` whose path is `prefix` or lies below it, segment by segment:
 * prefix `/svc` matches `/svc` and `/svc/a` but not `/svcx`.
 * @throws FlyMeError FLYME_INVALID_SPIFFE_ID when `prefix` is not a valid non-empty SPIFFE ID path.
 * @example authorizePathPrefix('flyme.local', '/workers')
 */
export function authorizePathPrefix(trustDomain: string, prefix: string): Authorizer {
  const td = parseTrustDomain(trustDomain);
  const base = SpiffeId.fromParts(td, prefix);
  if (base.isTrustDomainId || !prefix.startsWith('/')) {
    throw flymeError('FLYME_INVALID_SPIFFE_ID', `invalid path prefix '${prefix}': it must start with '/' and name at least one segment (use authorizeMemberOf for a whole trust domain)`, { rule: 'path-char', input: prefix });
  }
  const expected = `an ID under spiffe://${td}${base.path}`;
  return (id) => {
    if (!id.memberOf(td)) deny(id, expected);
    if (id.path !== base.path && !id.path.startsWith(`${base.path}/`)) deny(id, expected);
  };
}

/**
 * Allows only when every authorizer allows; the first denial is thrown. At least one is required
 * (an empty conjunction would silently allow everything).
 * @example authorizeAll(authorizeMemberOf('flyme.local'), myExtraCheck)
 */
export function authorizeAll(...authorizers: Authorizer[]): Authorizer {
  if (authorizers.length === 0) throw new TypeError('authorizeAll() needs at least one authorizer');
  return (id, chain) => {
    for (const a of authorizers) a(id, chain);
  };
}

/**
 * Allows when at least one authorizer allows. With none, or when all deny, it denies with every reason.
 * @example authorizeAnyOf(authorizeId(admin), authorizePathPrefix('flyme.local', '/ops'))
 */
export function authorizeAnyOf(...authorizers: Authorizer[]): Authorizer {
  return (id, chain) => {
    const reasons: string[] = [];
    for (const a of authorizers) {
      try {
        a(id, chain);
        return;
      } catch (err) {
        if (!(err instanceof FlyMeError) || err.code !== 'FLYME_ID_NOT_AUTHORIZED') throw err;
        reasons.push(String(err.data['expected'] ?? err.message));
      }
    }
    deny(id, reasons.length === 0 ? 'a match of an empty list (nothing is allowed)' : reasons.join(' or '));
  };
}
