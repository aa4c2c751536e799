/** Arbitraries shared by the fuzz properties in test/fuzz/. */
import fc from 'fast-check';

/**
 * Object keys an attacker likes: prototype and conversion hooks (a JSON object with its own `toString` breaks
 * `String(x)` and template literals), promise hooks, and the member names FlyMe's parsers look for.
 */
export const trickyKey = fc.constantFrom(
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'toJSON', 'then', 'hasOwnProperty', 'length',
  'jsonrpc', 'id', 'method', 'params', 'result', 'error', 'code', 'message', 'data',
  'alg', 'x5c', 'typ', 'crit', 'b64', 'v', 'channel', 'from', 'iat', 'nonce', 'payload', 'contentType', 'jwt',
  'roles', 'bindings', 'issuers', 'channels', 'methods', 'list', 'roots', 'uid', 'gid', 'spiffeId', 'spiffeIdPrefix', 'subjects',
);
export const key = fc.oneof({ weight: 2, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 3, arbitrary: trickyKey });

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53, 2 ** 64, 5e-324, 0.1),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** JSON values with tricky keys (own `__proto__` included: objects are built with Object.fromEntries). */
export const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries)),
})).value;

/** Text built from a vocabulary (weighted towards it) and arbitrary characters. */
export function textFrom(vocabulary: readonly string[], maxTokens = 40): fc.Arbitrary<string> {
  const token = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...vocabulary) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) });
  return fc.array(token, { maxLength: maxTokens }).map((t) => t.join(''));
}
