// Fuzz: the policy parser (src/auth/policy/parse.ts parsePolicyText) for YAML-ish text built from the policy's
// vocabulary and YAML syntax (anchors, aliases, tags, directives, flow and block styles), and for arbitrary and
// near-valid JSON objects. Only FLYME_INVALID_CONFIG may be thrown, and each call is bounded in time.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlyMeError } from '../../src/errors.js';
import { parsePolicyText } from '../../src/auth/policy/parse.js';
import { fcOptions, onlyExpectedErrors } from '../helpers/property.js';
import { jsonish, textFrom, trickyKey } from '../helpers/fuzz-arbitraries.js';

const invalidConfig = (e: unknown): e is FlyMeError => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG';

function parse(text: string): void {
  const r = onlyExpectedErrors('parsePolicyText', () => parsePolicyText(text, 'fuzz.yaml'), invalidConfig);
  if (r.ok) assert.equal(typeof r.value.roles, 'object');
  else assert.match(r.error.message, /^fuzz\.yaml(:\d+)?: /);
}

const YAML_VOCABULARY = [
  'roles:', 'bindings:', 'issuers:', 'channels:', 'version: 1', 'methods:', 'list:', 'roots:', 'description:', 'uid:', 'gid:',
  'spiffeId:', 'spiffeIdPrefix:', 'iss:', 'jwks:', 'audience:', 'subjects:', 'rolesClaim:', 'maxRoles:', 'algorithms:',
  'channel:', 'publish:', 'subscribe:', 'role:', 'admin', 'reader', 'ping', 'status', '*', '"*"', 'ES256', '__proto__:', 'constructor:',
  '\n', '\n', '\n', '  ', '  ', '    ', '- ', '- ', ': ', ':', ' ', '[', ']', '{', '}', ', ', '&a ', '*a', '&b ', '*b', '[*a, *a, *a]', '<<: ',
  '!!str ', '!!int ', '!!map ', '!!seq ', '!!binary ', '!!set ', '!!omap ', '!!timestamp ', '!custom ', '!<tag:x> ', '? ', '|', '|-', '>', '---\n', '...\n',
  '%YAML 1.1\n', '%YAML 1.2\n', '%TAG ! tag:x,2000:\n', '# c', "'", '"', '\\', '\\u0000', '0', '1', '-1', '0x1F', '0o17', '1e9', '4294967295',
  '.inf', '.nan', 'null', '~', 'true', 'spiffe://flyme.local/', 'spiffe://flyme.local/app', 'spiffe://FLYME/%41', '/etc', '\t', '\r\n', '\ufeff',
];

/** A YAML-ish document: mostly tokens of the policy vocabulary and YAML syntax, with some arbitrary characters. */
const yamlish = textFrom(YAML_VOCABULARY, 60);

/** Alias fan-out (the "billion laughs" shape): nested lists of aliases to earlier anchors. */
const aliasBomb = fc.record({ levels: fc.integer({ min: 1, max: 9 }), fanout: fc.integer({ min: 1, max: 12 }), where: fc.constantFrom('roles', 'version', 'x') })
  .map(({ levels, fanout, where }) => {
    const lines = ['a0: &a0 [ping]'];
    for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(fanout).fill(`*a${i - 1}`).join(', ')}]`);
    lines.push(`${where}: *a${levels}`);
    return lines.join('\n') + '\n';
  });

const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: jsonish });
const roleName = fc.oneof(fc.constantFrom('admin', 'reader', 'ops', 'constructor', '__proto__', 'toString', 'hasOwnProperty'), fc.string({ maxLength: 8 }));
const spiffe = fc.oneof(fc.constantFrom('spiffe://flyme.local/app', 'spiffe://flyme.local/', 'spiffe://flyme.local', 'spiffe://FLYME/x', 'spiffe://a/b/'), fc.string({ maxLength: 12 }));
const binding = fc.record({
  uid: maybe(fc.integer({ min: -1, max: 2 ** 32 })), gid: maybe(fc.nat()), spiffeId: maybe(spiffe), spiffeIdPrefix: maybe(spiffe),
  roles: maybe(fc.array(roleName, { maxLength: 3 })),
}, { requiredKeys: [] });
const issuer = fc.record({
  iss: maybe(fc.constantFrom('https://iss', 'a', '')), jwks: maybe(fc.constantFrom('/etc/jwks.json', 'rel', '/')), audience: maybe(fc.constantFrom('flymed', '')),
  rolesClaim: maybe(fc.constantFrom('roles', '')), maxRoles: maybe(fc.integer({ min: -1, max: 100 })), algorithms: maybe(fc.array(fc.constantFrom('ES256', 'EdDSA', 'none'), { maxLength: 3 })),
  subjects: maybe(fc.dictionary(fc.oneof(fc.constantFrom('svc', '__proto__', 'a/b'), fc.string({ maxLength: 6 })), fc.array(roleName, { maxLength: 3 }), { maxKeys: 3 })),
}, { requiredKeys: [] });
const channelRule = fc.record({
  channel: maybe(fc.constantFrom('orders.*', 'a', '', 'a b', '[x]')),
  publish: maybe(fc.array(fc.oneof(fc.record({ spiffeId: spiffe }), fc.record({ spiffeIdPrefix: spiffe }), fc.record({ role: roleName }), jsonish), { maxLength: 3 })),
  subscribe: maybe(fc.array(fc.record({ role: roleName }), { maxLength: 2 })),
}, { requiredKeys: [] });
const role = fc.record({
  description: maybe(fc.string({ maxLength: 10 })),
  methods: maybe(fc.array(fc.constantFrom('ping', '*', 'status', 'a.b', '1x', ''), { maxLength: 4 })),
  list: maybe(fc.record({ roots: maybe(fc.array(fc.constantFrom('/', '/srv', 'rel'), { maxLength: 3 })) }, { requiredKeys: [] })),
}, { requiredKeys: [] });
/** Near-valid policy documents with tricky members mixed in. */
const policyObject = fc.tuple(
  fc.record({
    version: maybe(fc.oneof(fc.integer(), fc.string({ maxLength: 4 }))),
    roles: maybe(fc.dictionary(roleName, role, { maxKeys: 4 })),
    bindings: maybe(fc.array(binding, { maxLength: 4 })),
    issuers: maybe(fc.array(issuer, { maxLength: 3 })),
    channels: maybe(fc.array(channelRule, { maxLength: 3 })),
  }, { requiredKeys: [] }),
  fc.array(fc.tuple(trickyKey, jsonish), { maxLength: 2 }),
).map(([p, extra]) => Object.fromEntries([...Object.entries(p), ...extra]));

describe('fuzz: parsePolicyText', () => {
  it('control: a valid policy parses', () => {
    const p = parsePolicyText('roles:\n  reader: {methods: [ping]}\nbindings:\n  - {uid: 1000, roles: [reader]}\n', 'ok.yaml');
    assert.deepEqual(p.roles.reader?.methods, ['ping']);
  });

  it('YAML-ish text: FLYME_INVALID_CONFIG or a policy, bounded time', () => {
    fc.assert(fc.property(yamlish, parse), fcOptions());
  });

  it('alias fan-out (billion laughs): FLYME_INVALID_CONFIG or a policy, bounded time', () => {
    fc.assert(fc.property(aliasBomb, parse), fcOptions());
  });

  it('arbitrary JSON values and near-valid policy objects (as JSON text): FLYME_INVALID_CONFIG or a policy', () => {
    fc.assert(fc.property(fc.oneof(jsonish, policyObject), (v) => parse(JSON.stringify(v) ?? 'null')), fcOptions());
  });
});
