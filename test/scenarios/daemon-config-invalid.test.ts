// flymed --config with a bad file (unknown key, wrong type, bad value, bad YAML) does not start: exit != 0 and
// `file:line: field: problem` on stderr; the control (the same file without the bad line) starts.
// (Every kind of error message is covered by test/unit/daemon/config.test.ts; these run the real daemon.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir } from '../helpers/daemon.js';
import { baseConfig, writeConfig } from '../helpers/config.js';

const CASES: Array<[string, string, RegExp]> = [
  ['unknown key', 'max-conections: 3', /:4: max-conections: unknown field/],
  ['list where a value goes', 'max-connections: [1, 2]', /:4: max-connections: expected string/],
  ['bad integer', 'max-connections: many', /:4: max-connections: "many": must be a positive integer/],
  ['bare duration', 'idle-timeout: 30', /:4: idle-timeout: invalid duration "30": a bare number has no unit/],
];

test('a bad config file stops flymed from starting, naming file:line: field: problem', async () => {
  const dir = tempDir();
  try {
    for (const [what, line, expected] of CASES) {
      const config = writeConfig(dir, [...baseConfig(dir), 'max-in-flight: 8', line]);
      const d = await startDaemon(['--config', config], { dir, bare: true, wait: false });
      const code = await d.exited;
      assert.notEqual(code, 0, `${what}: flymed started`);
      assert.match(d.log(), new RegExp(`^flymed: ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${expected.source}`, 'm'), `${what}:\n${d.log()}`);
      assert.equal(existsSync(join(dir, 'flyme.sock')), false, `${what}: nothing was bound`);
    }
    // Control: the same file without the bad line starts.
    const config = writeConfig(dir, [...baseConfig(dir), 'max-in-flight: 8']);
    const d = await startDaemon(['--config', config], { dir, bare: true });
    assert.equal(await d.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
