// `npm run demo` (scripts/demo.mjs) keeps a CA private key in its temp dir: interrupted (SIGINT, SIGTERM) it
// removes that dir and stops its flymed, instead of leaving the key in /tmp. Control: before the signal the
// key is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/daemon.js';

const DEMO = resolve(fileURLToPath(import.meta.url), '../../../../scripts/demo.mjs');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`the demo removes its temp dir (CA key included) on ${signal}`, { timeout: 60_000 }, async () => {
    const tmp = tempDir('flyme-demo-tmp-');
    const p = spawn(process.execPath, [DEMO], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 400 && !out.includes('== client calls') && p.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
      assert.match(out, /== client calls/, out);
      const dir = join(tmp, readdirSync(tmp).find((n) => n.startsWith('flyme-demo-'))!);
      assert.ok(existsSync(join(dir, 'certs', 'root-ca.key.pem')), 'control: the CA key exists while the demo runs');
      p.kill(signal);
      await exited;
      assert.deepEqual(readdirSync(tmp), [], 'nothing left in the temp dir');
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
