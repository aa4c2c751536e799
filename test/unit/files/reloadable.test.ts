// FlyMe's one reloadable holder and file watcher: a broken update keeps the old value, updates run in order
// with their listeners, and a file replaced by rename is noticed (as editors and `mv` do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reloadable } from '../../../src/files/reloadable.js';
import { watchFiles } from '../../../src/files/watch.js';
import { writeFileAtomic } from '../../../src/files/atomic-write.js';
import { FlyMeError } from '../../../src/errors.js';

const parse = (path: string) => (): number => {
  const n = Number(readFileSync(path, 'utf8'));
  if (!Number.isInteger(n)) throw new FlyMeError('FLYME_INVALID_CONFIG', `${path}: not a number`);
  return n;
};
const until = async (cond: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > end) return false;
  return true;
};

test('an invalid update keeps the old value and reports the error; a valid one is announced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-reload-'));
  try {
    const file = join(dir, 'n');
    writeFileSync(file, '1');
    const r = await Reloadable.open(parse(file));
    const errors: string[] = [];
    const updates: Array<[number, number, string]> = [];
    r.onError((e, t) => errors.push(`${e.code}:${t}`));
    r.onUpdate((n, p, t) => { updates.push([n, p, t]); });
    writeFileSync(file, 'garbage');
    await assert.rejects(r.reload('x'), (e: FlyMeError) => e.code === 'FLYME_INVALID_CONFIG');
    assert.equal(r.current, 1);
    assert.deepEqual(errors, ['FLYME_INVALID_CONFIG:x']);
    writeFileSync(file, '2');
    assert.equal(await r.reload('y'), 2);
    assert.deepEqual(updates, [[2, 1, 'y']]);
    writeFileSync(file, 'nope');
    await assert.rejects(Reloadable.open(parse(file)), (e: FlyMeError) => e.code === 'FLYME_INVALID_CONFIG', 'the first load fails closed');
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('updates run one at a time, in order, each after the previous listeners finished', async () => {
  const r = Reloadable.of(0);
  const seen: string[] = [];
  r.onUpdate(async (n) => {
    seen.push(`start ${n}`);
    await new Promise((res) => setTimeout(res, 20));
    seen.push(`end ${n}`);
  });
  await Promise.all([1, 2, 3].map((n) => r.update(async () => { await new Promise((res) => setTimeout(res, 5 * (4 - n))); return n; }, 't')));
  assert.deepEqual(seen, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  assert.equal(r.current, 3);
});

test('same value: no update announced; a throwing listener does not undo the update', async () => {
  const r = Reloadable.of({ v: 1 }, { same: (a, b) => a.v === b.v });
  let announced = 0;
  const errors: string[] = [];
  r.onUpdate(() => { announced++; throw new Error('listener broke'); });
  r.onError((e) => errors.push(e.message));
  await r.update(() => ({ v: 1 }), 't');
  assert.equal(announced, 0);
  await r.update(() => ({ v: 2 }), 't');
  assert.equal(r.current.v, 2);
  assert.deepEqual(errors, ['listener broke']);
});

test('a watched file replaced by rename (and by an atomic write) triggers a reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-watch-'));
  try {
    const file = join(dir, 'n');
    writeFileSync(file, '1');
    const r = await Reloadable.open(parse(file), { watch: [file], debounceMs: 20 });
    writeFileSync(join(dir, 'n.new'), '5');
    renameSync(join(dir, 'n.new'), file);
    assert.ok(await until(() => r.current === 5), 'rename-into-place seen');
    await writeFileAtomic(file, '6', { mode: 0o644, overwrite: true });
    assert.ok(await until(() => r.current === 6), 'atomic write seen');
    writeFileSync(join(dir, 'other'), '9'); // control: another file in the directory changes nothing
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(r.current, 6);
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stat poll notices a change even without inotify events (watch on a missing directory)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-poll-'));
  try {
    const file = join(dir, 'later', 'n');
    let changes = 0;
    const w = watchFiles([file], () => { changes++; }, { debounceMs: 10, pollMs: 50 });
    (await import('node:fs')).mkdirSync(join(dir, 'later'));
    writeFileSync(file, '1');
    assert.ok(await until(() => changes > 0), 'poll saw the new file');
    w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic: never replaces without overwrite, writes the exact mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-atomic-'));
  try {
    const file = join(dir, 'sub', 'k');
    await writeFileAtomic(file, 'a', { mode: 0o600 });
    await assert.rejects(writeFileAtomic(file, 'b', { mode: 0o600 }), (e: FlyMeError) => e.code === 'FLYME_FILE_EXISTS');
    assert.equal(readFileSync(file, 'utf8'), 'a');
    await writeFileAtomic(file, 'c', { mode: 0o640, overwrite: true });
    assert.equal(readFileSync(file, 'utf8'), 'c');
    assert.equal((await import('node:fs')).statSync(file).mode & 0o777, 0o640);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
