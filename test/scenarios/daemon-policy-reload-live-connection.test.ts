// A policy reload reaches a connection that stays open: the role a binding gave is gone at the very next
// call once the file drops the binding, and comes back when it is restored. Control: the public method
// whoami keeps working on the same connection throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/client.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';

test('a policy reload changes the roles of a live connection', async () => {
  const dir = tempDir();
  const file = join(dir, 'policy.yaml');
  const policy = (bound: boolean) => `roles:
  operator: { methods: [status] }
bindings:
  - { uid: ${bound ? process.getuid!() : 4242}, roles: [operator] }
`;
  writeFileSync(file, policy(true));
  const d = await startDaemon(['--policy', file], { dir });
  const c = await connect(d.url, { callTimeoutMs: 5000 });
  const status = () => c.call('status').then(() => 'allowed', (e: { code?: string }) => e.code);
  const until = async (want: string) => {
    const deadline = Date.now() + 5000;
    let got = await status();
    while (got !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      got = await status();
    }
    return got;
  };
  try {
    assert.equal(await status(), 'allowed');
    writeFileSync(file, policy(false));
    d.proc.kill('SIGHUP');
    assert.equal(await until('FLYME_PERMISSION_DENIED'), 'FLYME_PERMISSION_DENIED');
    assert.deepEqual((await c.call<{ roles: string[] }>('whoami')).roles, []);
    writeFileSync(file, policy(true));
    d.proc.kill('SIGHUP');
    assert.equal(await until('allowed'), 'allowed');
    assert.equal(c.closed, false, 'the same connection all along');
  } finally {
    await c.close();
    await d.stop();
  }
});
