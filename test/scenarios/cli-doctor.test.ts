// `flyme doctor`: a healthy mTLS setup is all OK (exit 0); a 0666 socket, a loose key and an invalid
// policy are each a FAIL with the fix to apply (exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startMtlsDaemon } from '../helpers/daemon.js';

test('doctor: OK on a healthy setup, FAIL with fixes on a broken one', async () => {
  const m = await startMtlsDaemon();
  const policy = join(m.dir, 'policy.yaml');
  writeFileSync(policy, 'roles:\n  ops: { methods: [status] }\nbindings:\n  - { uid: 0, roles: [admin] }\n'); // a file without an admin binding is a WARN
  chmodSync(policy, 0o644);
  const doctor = () => runCli(['--connect', m.url, '--certs', m.certs, 'doctor', '--policy', policy]);
  try {
    const ok = await doctor();
    assert.equal(ok.code, 0, ok.stdout);
    assert.doesNotMatch(ok.stdout, /^(FAIL|WARN)/m);
    assert.match(ok.stdout, /^OK {4}flymed answers at/m);
    assert.match(ok.stdout, /^OK {4}.*client\.pem \(spiffe:\/\/flyme\.local\/client\) matches its key and chains/m);

    chmodSync(m.sock, 0o666);
    chmodSync(join(m.certs, 'client.key.pem'), 0o640);
    writeFileSync(policy, 'roles:\n  ops: { methods: [status], colour: red }\n');
    const bad = await doctor();
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^FAIL {2}socket .* has mode 0666.*\n {6}fix: chmod 660 /m);
    assert.match(bad.stdout, /^FAIL {2}private key .*client\.key\.pem has mode 0640.*\n {6}fix: chmod 600 /m);
    assert.match(bad.stdout, /^FAIL {2}.*policy\.yaml:2: roles\.ops\.colour: unknown field\n {6}fix: edit /m);
  } finally {
    await m.d.stop();
  }
});
