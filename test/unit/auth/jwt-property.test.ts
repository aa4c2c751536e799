import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlyMeError } from '../../../src/errors.js';
import { TokenIssuer, TokenVerifier, generateSigningKey } from '../../../src/auth/index.js';
import { fcOptions } from '../../helpers/property.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let token = '';
let verifier: TokenVerifier;

/** Each mutation returns a token different from the original. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), ch: fc.constantFrom(...B64URL, '.', '=', ' ') }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.integer({ min: 0, max: 2 }), b: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('realg' as const), alg: fc.constantFrom('none', 'HS256', 'EdDSA', 'RS256', 'ES384', 'PS256', 'ES256K') }),
);

function apply(t: string, m: Mutation): string {
  const parts = t.split('.');
  switch (m.kind) {
    case 'flip': {
      const i = m.at % t.length;
      return t.slice(0, i) + m.ch + t.slice(i + 1);
    }
    case 'drop': {
      const i = m.at % t.length;
      return t.slice(0, i) + t.slice(i + m.len);
    }
    case 'insert': {
      const i = m.at % (t.length + 1);
      return t.slice(0, i) + m.text + t.slice(i);
    }
    case 'swap': {
      const p = [...parts];
      [p[m.a], p[m.b]] = [p[m.b]!, p[m.a]!];
      return p.join('.');
    }
    case 'realg': {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<string, unknown>;
      header['alg'] = m.alg;
      return [Buffer.from(JSON.stringify(header)).toString('base64url'), parts[1], parts[2]].join('.');
    }
  }
}
type Mutation =
  | { kind: 'flip'; at: number; ch: string }
  | { kind: 'drop'; at: number; len: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'realg'; alg: string };

describe('property: mutated tokens never verify', () => {
  before(async () => {
    const key = await generateSigningKey('ES256', 'k1');
    token = await (await TokenIssuer.create({ key: key.privateJwk, clock: () => T0 })).issue({ sub: 's', aud: 'flymed', roles: ['r'] });
    verifier = new TokenVerifier({ keys: { keys: [key.publicJwk!] }, audience: 'flymed', clock: () => T0, algorithms: ['ES256', 'EdDSA'] });
  });

  it('control: the original verifies', async () => {
    await verifier.verify(token, { connectionId: 'c' });
  });

  it('random mutations (flip, drop, insert, swap segments, re-encode header alg) are refused', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const t = apply(token, m as Mutation);
        // A base64url char flip in the last (padding-bit) position can decode to the same bytes; skip identical decodings.
        fc.pre(t !== token && !sameDecoding(t, token));
        await assert.rejects(verifier.verify(t, { connectionId: 'c' }), (e: unknown) => e instanceof FlyMeError && e.code.startsWith('FLYME_TOKEN_'));
      }),
      fcOptions(),
    );
  });
});

function sameDecoding(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length !== 3 || pb.length !== 3) return false;
  return pa.every((s, i) => /^[A-Za-z0-9_-]*$/.test(s) && Buffer.from(s, 'base64url').equals(Buffer.from(pb[i]!, 'base64url')));
}
