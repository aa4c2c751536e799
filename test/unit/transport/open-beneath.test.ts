// The addon's openBeneath never leaves its root and never follows a link (`..`, absolute and relative
// symlinks, the /proc/self/root magic link), by openat2 and by the O_NOFOLLOW component walk alike; a real
// subdirectory opens (control). readDirFd reads at most maxEntries entries, lstat-like, from the descriptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPeercredAddon, peerCredentialsAvailable } from '../../../src/transport/peercred.js';

const skip = !peerCredentialsAvailable() && 'native addon not built';
const isLinux = process.platform === 'linux';

function fixture(): { dir: string; root: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-beneath-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'a', 'b', 'marker'), 'x');
  writeFileSync(join(root, 'file'), 'x');
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside', 'secret'), 'x');
  symlinkSync('/etc', join(root, 'abs'));                      // absolute symlink out of the root
  symlinkSync('../outside', join(root, 'rel'));               // relative symlink out of the root
  symlinkSync('b', join(root, 'a', 'inner'));                 // relative symlink that stays inside
  symlinkSync('/proc/self/root', join(root, 'magic'));        // a symlink to the magic link
  return { dir, root, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const openFds = (): number => (isLinux ? readdirSync('/proc/self/fd').length : 0);

function codeOf(fn: () => unknown): string | undefined {
  try {
    const fd = fn() as number;
    loadPeercredAddon().closeFd(fd);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

for (const walk of [false, true]) {
  const mode = walk ? 'O_NOFOLLOW component walk' : 'openat2 (or the walk where the kernel lacks it)';

  test(`openBeneath (${mode}): a real subdirectory opens and reads (control)`, { skip }, async () => {
    const addon = loadPeercredAddon();
    const f = fixture();
    try {
      const fd = addon.openBeneath(f.root, 'a/b', walk);
      try {
        const r = await addon.readDirFd(fd, 100);
        assert.deepEqual(r.entries.map((e) => e.name), ['marker']);
        assert.equal(r.truncated, false);
      } finally {
        addon.closeFd(fd);
      }
      const top = addon.openBeneath(f.root, '', walk); // "" is the root itself
      try {
        const names = (await addon.readDirFd(top, 100)).entries.map((e) => e.name).sort();
        assert.deepEqual(names, ['a', 'abs', 'file', 'magic', 'rel']);
      } finally {
        addon.closeFd(top);
      }
    } finally {
      f.done();
    }
  });

  test(`openBeneath (${mode}): .., symlinks and magic links are refused, no fd leaks`, { skip }, () => {
    const addon = loadPeercredAddon();
    const f = fixture();
    const before = openFds();
    try {
      const cases: Array<[string, string, string]> = [
        [f.root, '..', 'EXDEV'],                   // root escape via ..
        [f.root, 'a/../..', 'EXDEV'],
        [f.root, 'a/..', 'EXDEV'],                 // any .. at all, even one that stays inside
        [f.root, 'abs', 'ELOOP'],                  // absolute symlink (to /etc)
        [f.root, 'abs/ssl', 'ELOOP'],              // ... as an intermediate component
        [f.root, 'rel', 'ELOOP'],                  // relative symlink (../outside)
        [f.root, 'rel/x', 'ELOOP'],
        [f.root, 'a/inner', 'ELOOP'],              // even a symlink that stays inside the root
        [f.root, 'magic', 'ELOOP'],                // symlink to /proc/self/root
        [f.root, 'nope', 'ENOENT'],
        [f.root, 'file', 'ENOTDIR'],
        [f.root, 'file/x', 'ENOTDIR'],
        [f.root, '/etc', 'EINVAL'],                // not relative
        [f.root, 'a//b', 'EINVAL'],                // empty component
        [f.root, 'a/', 'EINVAL'],
        [f.root, './a', 'EINVAL'],
        [f.root, 'a\0b', 'EINVAL'],                // NUL byte
        [join(f.dir, 'missing'), 'a', 'ENOENT'],   // the root itself is missing
        [join(f.root, 'file'), '', 'ENOTDIR'],     // the root is not a directory
      ];
      if (isLinux) {
        cases.push(['/proc/self', 'root', 'ELOOP']);      // the magic link itself
        cases.push(['/proc/self', 'root/etc', 'ELOOP']);
        cases.push(['/proc/self', 'cwd', 'ELOOP']);
      }
      for (const [root, rel, want] of cases) {
        assert.equal(codeOf(() => addon.openBeneath(root, rel, walk)), want, `openBeneath(${root}, ${JSON.stringify(rel)})`);
      }
      assert.equal(openFds(), before, 'every refused open closed its descriptors');
    } finally {
      f.done();
    }
  });
}

test('openBeneath: the fd is close-on-exec; bad arguments are TypeErrors', { skip }, () => {
  const addon = loadPeercredAddon();
  const f = fixture();
  try {
    const fd = addon.openBeneath(f.root, 'a');
    try {
      if (isLinux) {
        const flags = Number.parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
        assert.ok(flags & 0o2000000, 'O_CLOEXEC');
      }
    } finally {
      addon.closeFd(fd);
    }
    assert.throws(() => (addon.openBeneath as unknown as (a: unknown, b: unknown) => number)(1, 'a'), TypeError);
    assert.throws(() => (addon.openBeneath as unknown as (a: unknown) => number)(f.root), TypeError);
  } finally {
    f.done();
  }
});

test('readDirFd: bounded by maxEntries, lstat-like (symlinks reported, not followed), reads by descriptor', { skip }, async () => {
  const addon = loadPeercredAddon();
  const f = fixture();
  try {
    for (let i = 0; i < 10; i++) writeFileSync(join(f.root, 'a', `f${i}`), 'abc');
    const fd = addon.openBeneath(f.root, 'a');
    try {
      const capped = await addon.readDirFd(fd, 3);
      assert.equal(capped.entries.length, 3);
      assert.equal(capped.truncated, true);
      const all = await addon.readDirFd(fd, 12); // a second read starts at the beginning again
      assert.equal(all.entries.length, 12);
      assert.equal(all.truncated, false);
      const inner = all.entries.find((e) => e.name === 'inner')!;
      assert.equal(inner.mode & 0o170000, 0o120000, 'the symlink entry is a symlink, not its target');
      const file = all.entries.find((e) => e.name === 'f0')!;
      assert.equal(file.mode & 0o170000, 0o100000);
      assert.equal(file.size, 3);
      assert.ok(Math.abs(file.mtimeMs - Date.now()) < 3_600_000);
      assert.equal((await addon.readDirFd(fd, 11)).truncated, true);
    } finally {
      addon.closeFd(fd);
    }
    // The read works on its own dup: the caller may close its fd as soon as the call returns.
    const early = addon.openBeneath(f.root, 'a/b');
    const pending = addon.readDirFd(early, 10);
    addon.closeFd(early);
    assert.deepEqual((await pending).entries.map((e) => e.name), ['marker']);
    await assert.rejects(addon.readDirFd(999_999, 1), (e: { code?: string }) => e.code === 'EBADF');
    assert.throws(() => addon.readDirFd(-1, 1), TypeError);
    assert.throws(() => addon.readDirFd(0, 1.5), TypeError);
  } finally {
    f.done();
  }
});
