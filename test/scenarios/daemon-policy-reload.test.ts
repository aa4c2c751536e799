// A policy binding is what lets uid 65534 call status; reload-policy applies an edit to live
// connections' next calls; a broken file is refused and the old policy (and its hash) stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

const base = (extra: string) => `version: 1
roles:
  operator: { methods: [status] }
bindings:
  - { uid: 0, roles: [admin] }
${extra}`;

test('uid binding grants status; reload applies it; a broken file keeps the old policy', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, base(''));
  const d = await startDaemon(['--socket-mode', '0666', '--policy', file], { dir });
  try {
    // Attack: no binding for 65534 → denied, and the message says how to fix it.
    const bare = await runCli(['--connect', d.url, '--json', 'status'], NOBODY);
    assert.equal(bare.code, 3);
    const err = JSON.parse(bare.stderr).error;
    assert.equal(err.code, 'FLYME_PERMISSION_DENIED');
    assert.deepEqual(err.grantedBy, ['admin', 'operator']);

    const before = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout).policy;
    assert.equal(before.source, file);

    // Control: with the binding, after reload-policy by root, 65534 may call status.
    writeFileSync(file, base('  - { uid: 65534, roles: [operator] }\n').replace('version: 1', 'version: 2'));
    const reload = await runCli(['--connect', d.url, '--json', 'reload-policy']);
    assert.equal(reload.code, 0, reload.stderr);
    assert.equal(JSON.parse(reload.stdout).version, 2);
    const ok = await runCli(['--connect', d.url, '--json', 'status'], NOBODY);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).policy.version, 2);
    // 65534 may not reload the policy itself.
    assert.equal((await runCli(['--connect', d.url, 'reload-policy'], NOBODY)).code, 3);

    // A broken edit: refused with line and field, old policy kept (same hash), 65534 still allowed.
    const good = JSON.parse(ok.stdout).policy.hash;
    writeFileSync(file, base('  - { uid: 65534, roles: [nosuch] }\n'));
    const bad = await runCli(['--connect', d.url, '--json', 'reload-policy']);
    assert.equal(bad.code, 1);
    const badErr = JSON.parse(bad.stderr).error;
    assert.equal(badErr.code, 'FLYME_INVALID_CONFIG');
    assert.match(badErr.message, /policy\.yaml:6: bindings\.1\.roles\.0: role "nosuch" is not defined/);
    const after = await runCli(['--connect', d.url, '--json', 'status'], NOBODY);
    assert.equal(after.code, 0);
    assert.equal(JSON.parse(after.stdout).policy.hash, good);

    // Saving the file is enough (no reload call): the binding is removed and 65534 is denied again.
    writeFileSync(file, base('').replace('version: 1', 'version: 3'));
    let version = 0;
    for (let i = 0; i < 100 && version !== 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      version = JSON.parse((await runCli(['--connect', d.url, '--json', 'status'])).stdout).policy.version;
    }
    assert.equal(version, 3, 'the file watcher applied the saved policy');
    assert.equal((await runCli(['--connect', d.url, 'status'], NOBODY)).code, 3);
  } finally {
    await d.stop();
  }
});

test('flymed refuses to start with an invalid --policy file, naming the line', async () => {
  const dir = tempDir();
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'roles:\n  ops: { methods: [status], extra: 1 }\n');
  const d = await startDaemon(['--policy', file], { dir, wait: false });
  const code = await d.exited;
  assert.equal(code, 1);
  assert.match(d.log(), /policy\.yaml:2: roles\.ops\.extra: unknown field/);
  // Control: the same daemon starts once the file is valid.
  writeFileSync(file, 'roles:\n  ops: { methods: [status] }\n');
  const ok = await startDaemon(['--policy', file], { dir });
  await ok.stop();
});
