// `flyme explain` without --policy and without /etc/flyme/policy.yaml explains the built-in policy, as flymed
// uses it then, and says so (before: "cannot read policy file"). Control: uid 1000 is still denied (deny by
// default), and --policy FILE that is missing is still an error, as for flymed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli } from '../helpers/daemon.js';

test('explain falls back to the built-in policy like flymed', { skip: existsSync('/etc/flyme/policy.yaml') && 'this machine has /etc/flyme/policy.yaml' }, async () => {
  const root = await runCli(['explain', 'status', '--uid', '0']);
  assert.equal(root.code, 0, root.stderr);
  assert.match(root.stdout, /ALLOWED: status: granted by role admin via uid:0/);
  assert.match(root.stderr, /no \/etc\/flyme\/policy\.yaml: explaining the built-in policy/);

  const user = await runCli(['explain', 'status', '--uid', '1000']);
  assert.equal(user.code, 3);
  const daemonUser = await runCli(['explain', 'status', '--uid', '1000', '--daemon-uid', '1000']);
  assert.equal(daemonUser.code, 0, 'a flymed running as uid 1000 makes that uid admin');

  const missing = await runCli(['explain', 'status', '--uid', '0', '--policy', '/nonexistent/policy.yaml']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read policy file \/nonexistent\/policy\.yaml/);
});
