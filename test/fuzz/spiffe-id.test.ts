// Fuzz: SPIFFE ID parsing (src/identity/spiffe-id.ts) for arbitrary strings and near-valid IDs. Only
// FLYME_INVALID_SPIFFE_ID (with a known rule) may be thrown; whatever parses is canonical.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlyMeError } from '../../src/errors.js';
import { MAX_SPIFFE_ID_BYTES, MAX_TRUST_DOMAIN_BYTES, SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { fcOptions, onlyExpectedErrors } from '../helpers/property.js';
import { textFrom } from '../helpers/fuzz-arbitraries.js';

const RULES = new Set(['empty', 'too-long', 'scheme', 'trust-domain-missing', 'trust-domain-too-long', 'trust-domain-char',
  'path-char', 'empty-segment', 'trailing-slash', 'dot-segment', 'port', 'userinfo', 'percent-encoding', 'query', 'fragment']);

const invalidId = (e: unknown): e is FlyMeError =>
  e instanceof FlyMeError && e.code === 'FLYME_INVALID_SPIFFE_ID' && RULES.has(e.data.rule as string);

/** Near-valid IDs: the scheme (or a look-alike), then trust-domain and path material with URI syntax mixed in. */
const nearId = fc.tuple(
  fc.constantFrom('spiffe://', 'spiffe://', 'spiffe://', 'SPIFFE://', 'spiffe:/', 'spiffe:', 'http://', ''),
  textFrom(['a', 'z', '0', '9', '.', '-', '_', 'example.org', 'flyme.local', 'A', 'Z', ':', '8080', '@', '%2F', '%', '?q', '#f', '/', '//', '/.', '/..', '..', ' ', '\u0000', 'ä', '\ud800', 'x'.repeat(255), 'y'.repeat(2000)]),
).map(([scheme, rest]) => scheme + rest);

const anyString = fc.oneof(fc.string({ maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 32 }), nearId);

function checkParsed(input: string): void {
  const r = onlyExpectedErrors('SpiffeId.parse', () => SpiffeId.parse(input), invalidId);
  if (!r.ok) return;
  const id = r.value;
  assert.equal(id.toString(), input, 'a parsed ID prints as its input (canonical: no decoding, no folding)');
  assert.ok(Buffer.byteLength(input) <= MAX_SPIFFE_ID_BYTES);
  assert.match(id.trustDomain, /^[a-z0-9._-]+$/);
  assert.ok(Buffer.byteLength(id.trustDomain) <= MAX_TRUST_DOMAIN_BYTES);
  if (id.path !== '') {
    for (const seg of id.path.slice(1).split('/')) {
      assert.match(seg, /^[A-Za-z0-9._-]+$/);
      assert.ok(seg !== '.' && seg !== '..');
    }
  }
  assert.ok(SpiffeId.fromParts(id.trustDomain, id.path).equals(id));
  assert.equal(JSON.parse(JSON.stringify(id)), input);
}

describe('fuzz: SpiffeId.parse', () => {
  it('arbitrary and near-valid strings: FLYME_INVALID_SPIFFE_ID or a canonical ID, bounded time', () => {
    fc.assert(fc.property(anyString, checkParsed), fcOptions());
  });

  it('parseTrustDomain: FLYME_INVALID_SPIFFE_ID or a bare valid name', () => {
    fc.assert(
      fc.property(anyString, (input) => {
        const r = onlyExpectedErrors('parseTrustDomain', () => parseTrustDomain(input), invalidId);
        if (r.ok) {
          assert.match(r.value, /^[a-z0-9._-]+$/);
          assert.equal(parseTrustDomain(`spiffe://${r.value}`), r.value);
        }
      }),
      fcOptions(),
    );
  });
});
