import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateKeyFile, writePublicFile } from '../../../src/identity/index.js';
import { rejectsWith, tempDir } from './fixtures.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

test('private keys are written 0600 in a new 0700 directory, public files 0644, no temp files left', async () => {
  const { dir, cleanup } = tempDir();
  const old = process.umask(0o077);
  try {
    const keyDir = join(dir, 'keys');
    await writePrivateKeyFile(join(keyDir, 'a.key.pem'), 'KEY\n');
    await writePublicFile(join(keyDir, 'a.pem'), 'CERT\n');
    assert.equal(mode(keyDir), 0o700);
    assert.equal(mode(join(keyDir, 'a.key.pem')), 0o600);
    assert.equal(mode(join(keyDir, 'a.pem')), 0o644);
    assert.equal(readFileSync(join(keyDir, 'a.key.pem'), 'utf8'), 'KEY\n');
    assert.deepEqual(readdirSync(keyDir).sort(), ['a.key.pem', 'a.pem']);
  } finally {
    process.umask(old);
    cleanup();
  }
});

test('an existing file is never overwritten without force; force replaces it with the right mode', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'k.pem');
    writeFileSync(path, 'OLD', { mode: 0o644 });
    const e = await rejectsWith(() => writePrivateKeyFile(path, 'NEW'), 'FLYME_FILE_EXISTS');
    assert.match(e.message, /k\.pem.*--force/);
    assert.equal(e.data['path'], path);
    assert.equal(readFileSync(path, 'utf8'), 'OLD');
    await rejectsWith(() => writePublicFile(path, 'NEW'), 'FLYME_FILE_EXISTS');
    await writePrivateKeyFile(path, 'NEW', { force: true });
    assert.equal(readFileSync(path, 'utf8'), 'NEW');
    assert.equal(mode(path), 0o600);
    assert.deepEqual(readdirSync(dir), ['k.pem']);
  } finally {
    cleanup();
  }
});
