// One version: package.json's, reported by the library, `flyme --version` and `flymed --version`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/version.js';

const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };

test('the version comes from package.json everywhere', () => {
  assert.equal(VERSION, pkg.version);
  for (const bin of ['../../src/cli/flyme.js', '../../src/daemon/flymed.js']) {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL(bin, import.meta.url)), '--version'], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), pkg.version, bin);
  }
});
