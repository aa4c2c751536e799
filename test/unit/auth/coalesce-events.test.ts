import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { coalesceSecurityEvents } from '../../../src/auth/coalesce-events.js';
import type { SecurityEvent } from '../../../src/auth/events.js';

const refused = (uid: number, reason = 'FLYME_TOKEN_INVALID'): SecurityEvent => ({
  kind: 'token_refused', severity: 'warning', source: 'flymed', message: 'bad token', principal: { transport: 'unix:///s', peer: { uid, gid: uid } }, subject: 'authenticate', decision: 'deny', reason,
});

describe('coalesceSecurityEvents', () => {
  it('passes the first event per principal and key, then one summary with the count', () => {
    const out: SecurityEvent[] = [];
    const sink = coalesceSecurityEvents({ emit: (e) => out.push(e) }, { windowMs: 60_000 });
    for (let i = 0; i < 5000; i++) sink.emit(refused(1000));
    sink.emit(refused(1001));
    assert.equal(out.length, 2);
    sink.flush();
    assert.equal(out.length, 3);
    assert.equal(out[2]!.details?.count, 4999);
    assert.equal(out[2]!.details?.coalesced, true);
    assert.deepEqual(out[2]!.principal, refused(1000).principal);
  });

  it('leaves other kinds alone and bounds its table', () => {
    const out: SecurityEvent[] = [];
    const sink = coalesceSecurityEvents({ emit: (e) => out.push(e) }, { windowMs: 60_000, maxKeys: 10 });
    for (let i = 0; i < 3; i++) sink.emit({ kind: 'privileged_call', severity: 'info', source: 'flymed', message: 'kill called' });
    assert.equal(out.length, 3);
    for (let uid = 0; uid < 1000; uid++) sink.emit(refused(uid));
    assert.equal(out.length, 3 + 10 + 1); // ten keys, then one overflow key
    sink.flush();
    const summary = out.at(-1)!;
    assert.equal(summary.details?.count, 1000 - 11);
  });
});
