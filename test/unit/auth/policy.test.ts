// Policy files: validation errors name the line and field; bindings grant roles; deny by default;
// explain says which grant is missing; a reload with a broken file keeps the old policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Policy, PolicyStore, parsePolicyText } from '../../../src/auth/policy/index.js';
import { emptyPrincipal, type Principal } from '../../../src/auth/principal.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { FlyMeError } from '../../../src/errors.js';

const GOOD = `version: 3
roles:
  operator:
    methods: [status, list]
    list: { roots: [/tmp] }
  reader: { methods: [ping] }
bindings:
  - { uid: 1000, roles: [operator] }
  - { gid: 27, roles: [reader] }
  - { spiffeId: "spiffe://example.org/ops/cli", roles: [admin] }
  - { spiffeIdPrefix: "spiffe://example.org/svc/", roles: [reader] }
`;

function principal(peer?: { uid: number; gid: number }, spiffeId?: string): Principal {
  const p = emptyPrincipal('unix:///x');
  if (peer) p.peer = peer;
  if (spiffeId) p.cert = { spiffeId, serial: '01', notAfter: '2030-01-01T00:00:00Z', thumbprint: 'x' };
  return p;
}

function invalid(text: string): FlyMeError {
  try {
    parsePolicyText(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof FlyMeError);
    assert.equal(e.code, 'FLYME_INVALID_CONFIG');
    return e;
  }
  assert.fail('expected the policy to be refused');
}

test('a valid policy parses (control for the refusals below)', () => {
  const p = Policy.parse(GOOD, 'p.yaml');
  assert.equal(p.info.version, 3);
  assert.match(p.info.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(p.document.roles), ['operator', 'reader']);
});

test('refusals name the line and the field', () => {
  let e = invalid(GOOD.replace('uid: 1000', 'uid: -5'));
  assert.match(e.message, /^p\.yaml:8: bindings\.0\.uid: /);
  assert.equal(e.data.line, 8);
  e = invalid(GOOD.replace('roles: [reader] }\n  - { spiffeId', 'roles: [nosuch] }\n  - { spiffeId'));
  assert.match(e.message, /p\.yaml:9: bindings\.1\.roles\.0: role "nosuch" is not defined/);
  e = invalid(GOOD.replace('methods: [ping]', 'methods: [ping], colour: red'));
  assert.match(e.message, /p\.yaml:6: roles\.reader\.colour: unknown field/);
  e = invalid(GOOD.replace('{ uid: 1000, roles', '{ uid: 1000, gid: 3, roles'));
  assert.match(e.message, /bindings\.0: a binding needs exactly one of/);
  e = invalid(GOOD.replace('spiffe://example.org/svc/', 'spiffe://example.org/svc'));
  assert.match(e.message, /spiffeIdPrefix: a prefix must end with "\/"/);
  e = invalid(GOOD.replace('spiffe://example.org/ops/cli', 'https://example.org/ops/cli'));
  assert.match(e.message, /bindings\.2\.spiffeId: .*scheme/);
  e = invalid(GOOD.replace('roots: [/tmp]', 'roots: [tmp]'));
  assert.match(e.message, /roles\.operator\.list\.roots\.0: invalid value "tmp"/);
  e = invalid('roles: {a: {methods: [x]}\n');
  assert.match(e.message, /^p\.yaml:\d+: not valid YAML\/JSON/);
  e = invalid('{"roles": {"a": {"methods": ["x"]}}, "bindings": [{"uid": "root", "roles": ["a"]}]}');
  assert.match(e.message, /bindings\.0\.uid/);
});

test('YAML aliases: an alias without its anchor and an alias fan-out ("billion laughs") are FLYME_INVALID_CONFIG, a plain alias works', () => {
  const p = parsePolicyText('roles:\n  reader: {methods: &m [ping, status]}\n  ops: {methods: *m}\n', 'p.yaml');
  assert.deepEqual(p.roles.ops?.methods, ['ping', 'status']);
  let e = invalid('roles: *nowhere\n');
  assert.match(e.message, /^p\.yaml: not valid YAML\/JSON: .*alias/i);
  const bomb = ['a0: &a0 [ping]', ...Array.from({ length: 6 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(8).fill(`*a${i}`).join(', ')}]`), 'roles: *a6'].join('\n');
  e = invalid(bomb);
  assert.match(e.message, /^p\.yaml: not valid YAML\/JSON: .*resource exhaustion/);
});

test('bindings on uid, gid, SPIFFE ID and prefix grant roles with their source', () => {
  const policy = Policy.parse(GOOD, 'p.yaml');
  const a = principal({ uid: 1000, gid: 1000 });
  policy.assignRoles(a);
  assert.deepEqual([...a.roles], ['operator']);
  assert.equal(a.roleSources.get('operator'), 'uid:1000');
  const b = principal({ uid: 2000, gid: 27 });
  policy.assignRoles(b);
  assert.equal(b.roleSources.get('reader'), 'gid:27');
  const c = principal(undefined, 'spiffe://example.org/ops/cli');
  policy.assignRoles(c);
  assert.ok(policy.isAdmin(c));
  assert.equal(policy.authorize(c, 'kill', 'kill'), undefined, 'admin grants every method');
  const d = principal(undefined, 'spiffe://example.org/svc/a');
  policy.assignRoles(d);
  assert.equal(d.roleSources.get('reader'), 'spiffe-prefix:spiffe://example.org/svc/');
  // A prefix is path-segment aware: /svcx is not under /svc/.
  const e = principal(undefined, 'spiffe://example.org/svcx/a');
  policy.assignRoles(e);
  assert.equal(e.roles.size, 0);
});

test('deny by default: no binding → only the public methods', () => {
  const policy = Policy.parse(GOOD, 'p.yaml');
  const p = principal({ uid: 4242, gid: 4242 });
  policy.assignRoles(p);
  assert.equal(policy.authorize(p, 'whoami', 'whoami'), undefined);
  const denied = policy.authorize(p, 'status', 'status');
  assert.ok(denied);
  assert.equal(denied.code, 'FLYME_PERMISSION_DENIED');
  assert.deepEqual(denied.data.grantedBy, ['admin', 'operator']);
  const op = principal({ uid: 1000, gid: 1000 });
  policy.assignRoles(op);
  assert.equal(policy.authorize(op, 'status', 'status'), undefined);
  assert.ok(policy.authorize(op, 'kill', 'kill'), 'operator does not hold kill');
  assert.deepEqual(policy.listRoots(op), ['/tmp']);
});

test('builtin policy: uid 0 and the daemon uid are admins, others get whoami only', () => {
  const policy = Policy.builtin(1234);
  const root = principal({ uid: 0, gid: 0 });
  const own = principal({ uid: 1234, gid: 1 });
  const other = principal({ uid: 99, gid: 99 });
  [root, own, other].forEach((p) => policy.assignRoles(p));
  assert.equal(root.roleSources.get('admin'), 'uid:0');
  assert.equal(own.roleSources.get('admin'), 'daemon-uid:1234');
  assert.ok(policy.authorize(other, 'status', 'status'));
  assert.equal(policy.authorize(other, 'whoami', 'whoami'), undefined);
});

test('explain names the granting binding, or what is missing', () => {
  const policy = Policy.parse(GOOD, 'p.yaml');
  const yes = policy.explain('list', { uid: 1000 });
  assert.equal(yes.allowed, true);
  assert.match(yes.reason, /granted by role operator via uid:1000/);
  const none = policy.explain('status', { uid: 5 });
  assert.equal(none.allowed, false);
  assert.match(none.reason, /no binding matches/);
  assert.deepEqual(none.rolesThatWouldGrant, ['admin', 'operator']);
  const wrong = policy.explain('status', { gid: 27 });
  assert.equal(wrong.allowed, false);
  assert.match(wrong.reason, /holds reader, none of which grants status/);
});

test('PolicyStore: a broken file is refused and the old policy stays; a good edit applies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-policy-'));
  try {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, GOOD);
    const events: SecurityEvent[] = [];
    const store = await PolicyStore.open(file, { events: { emit: (e) => events.push(e) }, watch: false });
    const first = store.current.info.hash;
    writeFileSync(file, 'roles: [oops');
    await assert.rejects(store.reload('test'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG');
    assert.equal(store.current.info.hash, first);
    assert.equal(events.at(-1)?.kind, 'policy_reload_failed');
    writeFileSync(file, GOOD.replace('version: 3', 'version: 4'));
    assert.equal((await store.reload('test')).info.version, 4);
    assert.notEqual(store.current.info.hash, first);
    assert.equal(events.at(-1)?.kind, 'policy_reloaded');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
