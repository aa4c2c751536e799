// A missing client certificate is a FlyMeError naming the file and what to do — copy or issue from the
// daemon's CA (`flyme certs issue`) — not a raw ENOENT; `doctor` with a daemon running does not suggest
// `certs init` (a new CA the daemon would not trust). Control: with no daemon there, doctor may suggest
// certs init; with the right certs dir the same command works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startMtlsDaemon, tempDir } from '../helpers/daemon.js';

test('missing certificate: which file, and issue from the daemon CA', { timeout: 60_000 }, async () => {
  const m = await startMtlsDaemon();
  const empty = tempDir('flyme-nocerts-');
  try {
    const ping = await runCli(['--connect', m.url, '--certs', empty, 'ping']);
    assert.equal(ping.code, 1);
    assert.match(ping.stderr, new RegExp(`missing ${join(empty, 'client.pem')}: .*flyme certs issue --ca`));
    assert.doesNotMatch(ping.stderr, /: ENOENT/);

    const doctor = await runCli(['--connect', m.url, '--certs', empty, 'doctor', '--policy', join(empty, 'none.yaml')]);
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /^FAIL {2}missing .*client\.pem.*\n {6}fix: a daemon is running with its own CA: .*flyme certs issue --ca/m);
    assert.doesNotMatch(doctor.stdout, /fix: flyme certs init/);
    const noDaemon = await runCli(['--connect', `unix+tls://${join(empty, 'none.sock')}`, '--certs', empty, 'doctor', '--policy', join(empty, 'none.yaml')]);
    assert.match(noDaemon.stdout, /fix: flyme certs init --dir /);

    const good = await runCli(['--connect', m.url, '--certs', m.certs, 'ping']);
    assert.equal(good.code, 0, good.stderr);
  } finally {
    rmSync(empty, { recursive: true, force: true });
    await m.d.stop();
  }
});
