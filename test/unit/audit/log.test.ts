// The audit log: signed, hash-chained records; verification finds the first edited, removed,
// reordered or unsigned record (each after an OK control); the chain continues across restarts
// and rotated files; one writer per log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, auditFileSet, loadAuditPublicKey, verifyAuditLog } from '../../../src/audit/index.js';
import type { SecurityEvent } from '../../../src/auth/events.js';
import { FlyMeError } from '../../../src/errors.js';

const ev = (n: number): SecurityEvent => ({ kind: 'denied', severity: 'warning', source: 'test', message: `call ${n} denied`, subject: 'status', decision: 'deny', principal: { peer: { uid: 1000 + n } } });

async function withLog(fn: (dir: string, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-audit-'));
  try {
    await fn(dir, join(dir, 'audit.log'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function write(path: string, dir: string, n: number, rotateBytes?: number): Promise<void> {
  const log = await AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem'), ...(rotateBytes ? { rotateBytes } : {}) });
  for (let i = 0; i < n; i++) log.emit(ev(i));
  await log.close();
}

const verify = async (path: string, dir: string) => verifyAuditLog(auditFileSet(path), await loadAuditPublicKey(join(dir, 'audit-key.pub.pem')));

test('records are signed and chained; key 0600, public key exported', async () => {
  await withLog(async (dir, path) => {
    await write(path, dir, 5);
    assert.equal(statSync(join(dir, 'audit-key.pem')).mode & 0o777, 0o600);
    const r = await verify(path, dir);
    assert.equal(r.ok, true, JSON.stringify(r.bad));
    assert.equal(r.records, 5);
    assert.equal(r.firstSeq, 1);
    const first = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!);
    assert.equal(first.kind, 'denied');
    assert.equal(first.prev, '0'.repeat(64));
    assert.match(first.sig, /^[A-Za-z0-9_-]{86}$/);
  });
});

test('tampering is found at the first bad record', async () => {
  const cases: Array<[string, (lines: string[]) => string[], RegExp, number]> = [
    ['edited', (l) => { l[2] = l[2]!.replace('call 2 denied', 'call 2 allowed'); return l; }, /bad signature/, 3],
    ['removed', (l) => { l.splice(2, 1); return l; }, /records missing: seq 4 follows seq 2/, 3],
    ['reordered', (l) => { [l[1], l[2]] = [l[2]!, l[1]!]; return l; }, /records missing: seq 3 follows seq 1/, 2],
    ['signature cut', (l) => { l[3] = l[3]!.replace(/,"sig":"[^"]+"\}$/, '}'); return l; }, /no signature/, 4],
    ['re-signed elsewhere', (l) => { l[1] = l[1]!.replace(/"sig":"[^"]{10}/, '"sig":"AAAAAAAAAA'); return l; }, /bad signature/, 2],
    ['truncated mid-line', (l) => { l[4] = l[4]!.slice(0, 40); return l; }, /signature|incomplete/, 5],
  ];
  for (const [name, mutate, reason, line] of cases) {
    await withLog(async (dir, path) => {
      await write(path, dir, 5);
      assert.equal((await verify(path, dir)).ok, true, `control for ${name}`);
      const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
      writeFileSync(path, mutate(lines).join('\n') + '\n');
      const r = await verify(path, dir);
      assert.equal(r.ok, false, `${name} must be detected`);
      assert.match(r.bad!.reason, reason, name);
      assert.equal(r.bad!.line, line, name);
    });
  }
});

test('the chain continues across a restart and across rotated files', async () => {
  await withLog(async (dir, path) => {
    await write(path, dir, 3);
    await write(path, dir, 3);
    let r = await verify(path, dir);
    assert.equal(r.ok, true);
    assert.equal(r.lastSeq, 6);
    await write(path, dir, 40, 2048);
    const files = auditFileSet(path);
    assert.ok(files.length >= 3, `rotated into ${files.length} files`);
    r = await verify(path, dir);
    assert.equal(r.ok, true, JSON.stringify(r.bad));
    assert.equal(r.lastSeq, 46);
    // Removing a middle file breaks the chain at the next file's first record.
    rmSync(files[1]!);
    r = await verify(path, dir);
    assert.equal(r.ok, false);
    assert.match(r.bad!.reason, /records missing/);
  });
});

test('a corrupt tail is not continued, and a second writer is refused', async () => {
  await withLog(async (dir, path) => {
    await write(path, dir, 2);
    const log = await AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem') });
    await assert.rejects(AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem') }), (e: unknown) => e instanceof FlyMeError && /another process/.test(e.message));
    await log.close();
    writeFileSync(path, readFileSync(path, 'utf8').replace('call 1 denied', 'call 1 forgiven'));
    await assert.rejects(AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem') }), (e: unknown) => e instanceof FlyMeError && /cannot be continued: bad signature/.test(e.message));
  });
});

test('a full queue drops and counts, then records the loss', async () => {
  await withLog(async (dir, path) => {
    const log = await AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem'), maxQueue: 3 });
    for (let i = 0; i < 10; i++) log.emit(ev(i));
    await log.flush();
    log.emit(ev(99));
    await log.close();
    assert.ok(log.state.dropped > 0);
    const kinds = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).kind);
    assert.ok(kinds.includes('audit_dropped'), kinds.join(','));
    assert.equal((await verify(path, dir)).ok, true);
  });
});

test('a stale lock is taken over when its pid now names another process; a live writer\'s lock is respected', async () => {
  const { spawn } = await import('node:child_process');
  await withLog(async (dir, path) => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const stat = readFileSync(`/proc/${other.pid}/stat`, 'latin1');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      // Control: the lock names a live process with its real start time → refused.
      writeFileSync(`${path}.lock`, `${other.pid} ${start}\n`);
      await assert.rejects(AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem') }), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_ADDRESS_IN_USE');
      // The same live pid with another start time: the pid was reused after the writer died → taken over.
      writeFileSync(`${path}.lock`, `${other.pid} ${Number(start) - 1}\n`);
      const log = await AuditLog.open({ path, keyPath: join(dir, 'audit-key.pem') });
      log.emit(ev(1));
      await log.close();
      assert.equal((await verify(path, dir)).ok, true);
    } finally {
      other.kill();
    }
  });
});
