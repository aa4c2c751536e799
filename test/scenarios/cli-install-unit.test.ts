// flyme install-unit: prints the unit; --write writes it 0644 and refuses to replace an existing file unless --force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, FLYMED } from '../helpers/daemon.js';

test('install-unit prints the unit, writes it 0644, and never replaces a file without --force', async () => {
  const dir = tempDir();
  try {
    const printed = await runCli(['install-unit']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.ok(printed.stdout.includes(`ExecStart=${process.execPath} ${FLYMED} --config /etc/flyme/flymed.yaml`), printed.stdout);

    const path = join(dir, 'flymed.service');
    const wrote = await runCli(['install-unit', '--write', '--path', path]);
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.equal(readFileSync(path, 'utf8'), printed.stdout);
    assert.equal(statSync(path).mode & 0o777, 0o644);

    writeFileSync(path, '# an operator\'s own unit\n');
    const again = await runCli(['install-unit', '--write', '--path', path]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /--force/);
    assert.equal(readFileSync(path, 'utf8'), '# an operator\'s own unit\n', 'the existing file is untouched');

    const forced = await runCli(['install-unit', '--write', '--force', '--path', path]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(path, 'utf8'), printed.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
