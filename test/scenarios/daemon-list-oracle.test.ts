// `list` is no oracle for paths outside the caller's roots: an existing path (/etc/passwd, /etc, a sibling
// directory) and a missing one get the very same refusal, decided before the path is touched; a symlink
// inside the root that points out is refused without revealing where it points. Control: a real
// subdirectory lists, and a missing path inside the root is reported as missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { FlyMeError } from '../../src/errors.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';

test('list refuses paths outside the roots identically, existing or not, and never shows link targets', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'f1'), '');
  mkdirSync(join(dir, 'hidden-target'));
  writeFileSync(join(dir, 'hidden-target', 'key'), '');
  symlinkSync(join(dir, 'hidden-target'), join(root, 'escape'));
  symlinkSync('/nonexistent-flyme-target', join(root, 'dangling'));
  symlinkSync('../hidden-target', join(root, 'relative'));
  const policy = join(dir, 'policy.yaml');
  // The test runs as any uid: bind it (not admin) to a role whose only root is `root`.
  const uid = process.getuid?.() ?? 0;
  writeFileSync(policy, `roles:\n  lister: { methods: [list], list: { roots: [${root}] } }\nbindings:\n  - { uid: ${uid}, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0600', '--policy', policy], { dir });
  const client = await connect(d.url, { callTimeoutMs: 10_000 });
  const refusal = async (path: string): Promise<{ code: string; message: string; data: unknown }> => {
    try {
      const r = await client.call('list', { paths: [path] });
      assert.fail(`${path} was listed: ${JSON.stringify(r)}`);
    } catch (e) {
      if (!(e instanceof FlyMeError)) throw e;
      return { code: e.code, message: e.message, data: e.data };
    }
  };
  try {
    // Outside the roots: existing, missing, lexical escapes; all the same error (modulo the path echoed).
    const outside = ['/etc/passwd', '/etc', '/nonexistent-flyme-dir', '/nonexistent-flyme-dir/x', join(dir, 'hidden-target'),
      join(dir, 'missing'), `${root}/../hidden-target`, `${root}/../missing`, `${root}x`];
    const seen = new Set<string>();
    for (const p of outside) {
      const r = await refusal(p);
      assert.equal(r.code, 'FLYME_PERMISSION_DENIED', `${p}: ${r.message}`);
      assert.ok(r.message.startsWith(`${p} `), r.message);
      seen.add(JSON.stringify({ ...r, message: r.message.slice(p.length) }));
    }
    assert.equal(seen.size, 1, `one refusal for every outside path, existing or not: ${[...seen].join('\n')}`);

    // Symlinks inside the root that point out (existing target, missing target, relative): refused alike,
    // and nothing in the answer names the target.
    const viaLinks = new Set<string>();
    for (const p of [join(root, 'escape'), join(root, 'escape', 'key'), join(root, 'dangling'), join(root, 'relative')]) {
      const r = await refusal(p);
      assert.equal(r.code, 'FLYME_PERMISSION_DENIED', `${p}: ${r.message}`);
      assert.match(r.message, /symbolic link/);
      const whole = JSON.stringify(r);
      assert.ok(!whole.includes('hidden-target') && !whole.includes('nonexistent-flyme-target'), `${p} reveals its target: ${whole}`);
      viaLinks.add(JSON.stringify({ ...r, message: r.message.slice(p.length) }));
    }
    assert.equal(viaLinks.size, 1, `links refused alike whatever their target: ${[...viaLinks].join('\n')}`);

    // Control: inside the root.
    const ok = await client.call<{ results: Array<{ path: string; realPath: string; entries: Array<{ name: string; type: string }> }> }>('list', { paths: [join(root, 'sub')] });
    assert.deepEqual(ok.results[0]!.entries.map((e) => e.name), ['f1']);
    assert.equal(ok.results[0]!.realPath, join(root, 'sub'));
    const top = await client.call<{ results: Array<{ entries: Array<{ name: string; type: string }> }> }>('list', { paths: [root] });
    assert.deepEqual(top.results[0]!.entries.map((e) => `${e.name}:${e.type}`), ['dangling:symlink', 'escape:symlink', 'relative:symlink', 'sub:directory']);
    const missing = await refusal(join(root, 'nope'));
    assert.equal(missing.code, 'FLYME_NOT_FOUND');
    const file = await refusal(join(root, 'sub', 'f1'));
    assert.equal(file.code, 'FLYME_INVALID_PARAMS');
  } finally {
    await client.close();
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
