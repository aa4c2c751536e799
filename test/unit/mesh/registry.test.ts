import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { Ownership } from '../../../src/mesh/ownership.js';
import { Registry } from '../../../src/mesh/registry.js';

const own = (owner: string) => Ownership.parse(`registry:\n  templates:\n    - name: "{name}.example.org"\n      owner: "${owner}"\n`, 'reg.yaml', 'example.org');
const SVC = own('spiffe://example.org/svc/{name}');

test('limits: names and records per name (FLYME_REGISTRY_FULL), and every refusal is an event', async () => {
  const events: SecurityEvent[] = [];
  const r = await Registry.open({ zone: 'example.org', ownership: SVC, maxNames: 2, maxRecordsPerName: 2, events: { emit: (e) => events.push(e) } });
  try {
    const id = (n: string) => `spiffe://example.org/svc/${n}`;
    await r.register(id('a'), { name: 'a.example.org', address: '10.0.0.1', port: 1 });
    await r.register(id('a'), { name: 'a.example.org', address: '10.0.0.2', port: 1 });
    await r.register(id('a'), { name: 'a.example.org', address: '10.0.0.2', port: 1 }); // replaces: not a third record
    await assert.rejects(r.register(id('a'), { name: 'a.example.org', address: '10.0.0.3', port: 1 }), { code: 'FLYME_REGISTRY_FULL' });
    await r.register(id('b'), { name: 'b.example.org', address: '10.0.0.1', port: 1 });
    await assert.rejects(r.register(id('c'), { name: 'c.example.org', address: '10.0.0.1', port: 1 }), { code: 'FLYME_REGISTRY_FULL' });
    await assert.rejects(r.register(id('c'), { name: 'b.example.org', address: '10.0.0.9', port: 1 }), { code: 'FLYME_PERMISSION_DENIED' });
    assert.deepEqual(r.lookup('b.example.org').map((x) => x.address), ['10.0.0.1']);
    assert.deepEqual(events.filter((e) => e.kind === 'registration_refused').map((e) => e.reason), ['FLYME_REGISTRY_FULL', 'FLYME_REGISTRY_FULL', 'FLYME_PERMISSION_DENIED']);
    assert.equal(events.filter((e) => e.kind === 'registration_changed').length, 4);
  } finally {
    r.close();
  }
});

test('state: 0600, reloaded; records whose owner the policy no longer names are not brought back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-reg-'));
  const statePath = join(dir, 'state.json');
  try {
    const r1 = await Registry.open({ zone: 'example.org', ownership: SVC, statePath });
    await r1.register('spiffe://example.org/svc/a', { name: 'a.example.org', address: '10.0.0.1', port: 443 });
    r1.close();
    assert.equal(statSync(statePath).mode & 0o777, 0o600);
    assert.match(readFileSync(statePath, 'utf8'), /a\.example\.org/);
    const r2 = await Registry.open({ zone: 'example.org', ownership: SVC, statePath });
    assert.equal(r2.lookup('a.example.org')[0]?.owner, 'spiffe://example.org/svc/a');
    r2.close();
    const r3 = await Registry.open({ zone: 'example.org', ownership: own('spiffe://example.org/team/{name}'), statePath });
    assert.equal(r3.lookup('a.example.org').length, 0);
    r3.close();
    await assert.rejects(Registry.open({ zone: 'example.net', ownership: SVC, statePath }), /is for zone example\.org/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setOwnership: records whose owner the new rules no longer name (for the name or the SNI) are removed and reported', async () => {
  const events: SecurityEvent[] = [];
  const changes: string[] = [];
  const both = Ownership.parse('registry:\n  names:\n    a.example.org: ["spiffe://example.org/a"]\n    front.example.org: ["spiffe://example.org/a"]\n    b.example.org: ["spiffe://example.org/b"]\n', 'reg.yaml', 'example.org');
  const r = await Registry.open({ zone: 'example.org', ownership: both, events: { emit: (e) => events.push(e) } });
  try {
    r.watch((kind, rec) => changes.push(`${kind} ${rec.name}`));
    await r.register('spiffe://example.org/a', { name: 'a.example.org', address: '10.0.0.1', port: 1, sni: 'front.example.org' });
    await r.register('spiffe://example.org/b', { name: 'b.example.org', address: '10.0.0.2', port: 1 });
    // same rules: nothing removed
    assert.deepEqual(await r.setOwnership(both), []);
    // a still owns its name but no longer its SNI: its record goes; b's stays
    const next = Ownership.parse('registry:\n  names:\n    a.example.org: ["spiffe://example.org/a"]\n    b.example.org: ["spiffe://example.org/b"]\n', 'reg2.yaml', 'example.org');
    const gone = await r.setOwnership(next);
    assert.deepEqual(gone.map((x) => x.name), ['a.example.org']);
    assert.deepEqual(r.all().map((x) => x.name), ['b.example.org']);
    assert.deepEqual(changes.slice(2), ['DEREGISTERED a.example.org']);
    const revoked = events.filter((e) => e.reason === 'revoked');
    assert.equal(revoked.length, 1);
    assert.match(revoked[0]!.message, /reg2\.yaml no longer names its owner spiffe:\/\/example\.org\/a \(for the name or its sni front\.example\.org\)/);
    await assert.rejects(r.register('spiffe://example.org/a', { name: 'a.example.org', address: '10.0.0.1', port: 1, sni: 'front.example.org' }), { code: 'FLYME_PERMISSION_DENIED' });
  } finally {
    r.close();
  }
});
