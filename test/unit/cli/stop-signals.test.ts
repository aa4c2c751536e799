// Long-running commands stop through onStopSignals: a second SIGTERM or SIGINT while the first one's close is still
// running must not close anything twice (before it, `flyme ca serve` closed its server, CA store and audit log once
// per signal), and a close that fails must exit 1 with the reason, not 0 or an unhandled rejection. Each case runs
// in a child process that really receives the signals; the control stops after one signal with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const helper = pathToFileURL(fileURLToPath(new URL('../../../src/cli/signals.js', import.meta.url))).href;

/** A child that installs onStopSignals with a close taking 300 ms (failing when `fail`), prints "ready", and sends itself `signals`. */
function child(signals: NodeJS.Signals[], fail = false): Promise<{ code: number | null; out: string; err: string }> {
  const script = `
    const { onStopSignals } = await import(${JSON.stringify(helper)});
    let closes = 0;
    onStopSignals('test-cmd', async () => {
      closes++;
      process.stdout.write('close ' + closes + '\\n');
      await new Promise((r) => setTimeout(r, 300));
      if (${fail}) throw new Error('the store would not close');
    });
    setInterval(() => {}, 1000); // a long-running command
    for (const s of ${JSON.stringify(signals)}) { process.kill(process.pid, s); await new Promise((r) => setTimeout(r, 20)); }
  `;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  p.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, out, err })));
}

test('one signal: close runs once, exit 0 (control)', async () => {
  const r = await child(['SIGTERM']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'close 1\n');
});

test('SIGTERM, SIGINT and SIGTERM again while closing: close still runs once, exit 0', async () => {
  const r = await child(['SIGTERM', 'SIGINT', 'SIGTERM']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'close 1\n');
});

test('a close that fails: exit 1 and the reason on stderr', async () => {
  const r = await child(['SIGINT'], true);
  assert.equal(r.code, 1);
  assert.equal(r.out, 'close 1\n');
  assert.match(r.err, /^test-cmd: stopping failed: the store would not close\n$/);
});
