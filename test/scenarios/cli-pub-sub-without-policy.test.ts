// `flyme pub/sub` without a policy file say what to write and where, with a minimal example (deny by default:
// no file, no channel), instead of "cannot read policy file". The example they print is a valid policy (control:
// `policy check` accepts it, and its channels: section is the ACL). A redis:// URL is refused naming the
// --allow-insecure flag, not the library's allowInsecure option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/daemon.js';

test('pub/sub without a policy file print the file to write', { skip: existsSync('/etc/flyme/policy.yaml') && 'this machine has /etc/flyme/policy.yaml' }, async () => {
  const dir = tempDir('flyme-pubsub-nopolicy-');
  try {
    for (const args of [['sub', 'orders.*'], ['pub', 'orders.eu', 'hello']]) {
      const r = await runCli(['--certs', dir, ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /need a policy file whose channels: section .* none at \/etc\/flyme\/policy\.yaml\. Write one there \(or anywhere, and pass --policy FILE\)/);
      const example = r.stderr.split('for example:\n')[1]!.split('\n(')[0]!;
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, example + '\n');
      const check = await runCli(['--json', 'policy', 'check', file]);
      assert.equal(check.code, 0, `the printed example is a valid policy: ${check.stderr}`);
    }
    const plain = await runCli(['--certs', dir, 'sub', 'orders.*', '--redis', 'redis://127.0.0.1:1', '--policy', join(dir, 'policy.yaml')]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /plain text .* pass --allow-insecure/);
    assert.doesNotMatch(plain.stderr, /allowInsecure/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
