// One-shot printing commands whose reader is gone (`flyme certs inspect F | head -1`) end quietly with their own
// exit code instead of dying of an unhandled EPIPE with a stack trace. The pipe's read end is closed before
// the command writes, so every write fails. Control: with a reader, the same command prints its report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FLYME, runCli, tempDir } from '../helpers/daemon.js';

const CRASH = /Unhandled|EPIPE|^\s+at .+:\d+:\d+\)?$/im;

function runWithoutReader(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = spawn(process.execPath, [FLYME, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.destroy(); // the reader went away before the first line
  let stderr = '';
  p.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  return new Promise((r) => p.once('close', (code) => r({ code, stderr })));
}

test('printing commands survive a closed stdout', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-epipe-');
  try {
    assert.equal((await runCli(['certs', 'init', '--dir', dir])).code, 0);
    const cert = join(dir, 'client.pem');
    const control = await runCli(['certs', 'inspect', cert]);
    assert.equal(control.code, 0);
    assert.match(control.stdout, /SPIFFE ID: +spiffe:\/\/flyme\.local\/client/);

    for (const args of [['certs', 'inspect', cert], ['certs', 'inspect', cert, '--json'], ['explain', 'status', '--uid', '0', '--policy', 'builtin'], ['--help']]) {
      const r = await runWithoutReader(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, CRASH, `${args.join(' ')}: no crash report`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
