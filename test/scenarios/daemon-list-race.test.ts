// A caller who can write inside its list root swaps `d` between a real directory and a symlink to /etc,
// 10 000 times, while listing `<root>/d` over and over: flymed must never list /etc (before the fix, the
// realpath check and the open were two lookups and the swap landed in between). Control: some calls list
// the real directory and show its `marker`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { FlyMeError } from '../../src/errors.js';
import { startDaemon, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

const SWAPS = 10_000;
const IN_FLIGHT = 4;
const PAUSE_MS = 0.1; // between swaps, so each state lives long enough for calls to land on it
// The attacker: sets up `d` (a directory with `marker`) and `d.lnk` (-> /etc), says "ready", then swaps
// them with renames (d -> d.dir, d.lnk -> d; back again) SWAPS times, pausing briefly in each state, and exits.
const SWAPPER = `
const fs = require('node:fs');
process.chdir(process.argv[1]);
fs.mkdirSync('d');
fs.writeFileSync('d/marker', '');
fs.symlinkSync('/etc', 'd.lnk');
process.stdout.write('ready\\n');
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < ${SWAPS}; i++) {
  fs.renameSync('d', 'd.dir'); fs.renameSync('d.lnk', 'd');
  Atomics.wait(pause, 0, 0, ${PAUSE_MS});
  fs.renameSync('d', 'd.lnk'); fs.renameSync('d.dir', 'd');
  Atomics.wait(pause, 0, 0, ${PAUSE_MS});
}
`;

test('list cannot be raced out of its root by swapping a directory for a symlink', { skip: (!isRoot && 'needs root to run the swapper as uid 65534') || (!existsSync('/etc/passwd') && 'no /etc/passwd'), timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const root = join(dir, 'root');
  mkdirSync(root);
  chownSync(root, NOBODY.uid, NOBODY.gid); // the attacker may write inside its root, as in /tmp
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles:\n  lister: { methods: [list], list: { roots: [${root}] } }\nbindings:\n  - { uid: 0, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0600', '--policy', policy], { dir });
  const client = await connect(d.url, { callTimeoutMs: 10_000 });
  const swapper = spawn(process.execPath, ['-e', SWAPPER, root], { ...NOBODY, stdio: ['ignore', 'pipe', 'pipe'] });
  let swapperErr = '';
  swapper.stderr!.on('data', (b: Buffer) => { swapperErr += b.toString(); });
  const exited = new Promise<number | null>((r) => swapper.once('exit', (code) => r(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      swapper.stdout!.once('data', () => resolve());
      swapper.once('exit', () => reject(new Error(`swapper exited early: ${swapperErr}`)));
    });
    let running = true;
    void exited.then(() => { running = false; });
    const tally = { calls: 0, marker: 0, escaped: 0, errors: new Map<string, number>() };
    // Several calls in flight on the one connection, so many land while the swapper runs.
    const worker = async (): Promise<void> => {
      while (running) {
        tally.calls++;
        try {
          const r = await client.call<{ results: Array<{ entries: Array<{ name: string }> }> }>('list', { paths: [join(root, 'd')] });
          const names = r.results[0]!.entries.map((e) => e.name);
          if (names.includes('passwd') || names.includes('hostname')) tally.escaped++;
          if (names.includes('marker')) tally.marker++;
        } catch (e) {
          if (!(e instanceof FlyMeError)) throw e;
          tally.errors.set(e.code, (tally.errors.get(e.code) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    assert.equal(await exited, 0, `swapper failed: ${swapperErr}`);
    const summary = `${tally.calls} calls: ${tally.marker} listed the real directory, ${tally.escaped} listed /etc, errors ${JSON.stringify([...tally.errors])}`;
    t.diagnostic(summary);
    assert.equal(tally.escaped, 0, `list escaped its root: ${summary}`);
    assert.ok(tally.marker > 0, `control: the real directory was never listed: ${summary}`);
    for (const code of tally.errors.keys()) assert.ok(['FLYME_PERMISSION_DENIED', 'FLYME_NOT_FOUND'].includes(code), `unexpected error ${code}: ${summary}`);
    // After the race the daemon still serves the real directory.
    const after = await client.call<{ results: Array<{ entries: Array<{ name: string }> }> }>('list', { paths: [join(root, 'd')] });
    assert.deepEqual(after.results[0]!.entries.map((e) => e.name), ['marker']);
  } finally {
    swapper.kill('SIGKILL');
    await client.close();
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
