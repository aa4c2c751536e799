// `list` runs with the daemon's privilege but only inside the caller's list roots: paths outside,
// `..` escapes and symlinks pointing out of a root are refused; the same call inside a root works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

test('list is confined to list roots', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const root = join(dir, 'shared');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello');
  mkdirSync(join(dir, 'secret'));
  writeFileSync(join(dir, 'secret', 'key'), 'x');
  symlinkSync(join(dir, 'secret'), join(root, 'escape'));
  mkdirSync(join(dir, 'sharedx'));
  for (let i = 0; i < 5; i++) writeFileSync(join(root, 'sub', `f${i}`), '');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, `roles:\n  lister: { methods: [list], list: { roots: [${root}] } }\nbindings:\n  - { uid: 65534, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0666', '--policy', file], { dir });
  const list = (...args: string[]) => runCli(['--connect', d.url, '--json', 'list', ...args], NOBODY);
  try {
    // Control: inside the root.
    const ok = await list(root);
    assert.equal(ok.code, 0, ok.stderr);
    const entries = JSON.parse(ok.stdout).results[0].entries as Array<{ name: string; type: string; size: number }>;
    assert.deepEqual(entries.map((e) => e.name), ['a.txt', 'escape', 'sub']);
    assert.equal(entries.find((e) => e.name === 'escape')!.type, 'symlink', 'entry symlinks are reported, not followed');
    assert.equal(entries.find((e) => e.name === 'a.txt')!.size, 5);
    const capped = JSON.parse((await list('--max-entries', '2', join(root, 'sub'))).stdout).results[0];
    assert.equal(capped.entries.length, 2);
    assert.equal(capped.truncated, true);

    for (const attack of [join(dir, 'secret'), join(root, 'escape'), join(root, '..', 'secret'), join(root, 'sub', '..', '..', 'secret'), join(dir, 'sharedx'), '/etc']) {
      const r = await list(attack);
      assert.equal(r.code, 3, `${attack} must be refused: ${r.stdout}`);
      assert.equal(JSON.parse(r.stderr).error.code, 'FLYME_PERMISSION_DENIED');
    }
    // A refused path among allowed ones fails the whole call.
    assert.equal((await list(root, join(root, 'escape'))).code, 3);
    // Relative paths are a usage error, a missing path is reported as such.
    assert.equal(JSON.parse((await list('shared')).stderr).error.code, 'FLYME_INVALID_PARAMS');
    assert.equal(JSON.parse((await list(join(root, 'nope'))).stderr).error.code, 'FLYME_NOT_FOUND');
  } finally {
    await d.stop();
  }
});
