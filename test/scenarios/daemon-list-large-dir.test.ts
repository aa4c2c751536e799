// Listing a directory of 100 000 entries is bounded: every answer holds at most maxEntries entries (over all
// its paths) and says it is truncated, and flymed's resident memory stays sane over repeated calls (it never
// reads the whole directory). Control: a small directory in the same root is listed whole, not truncated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';

const ENTRIES = 100_000;
const MAX = 1000; // flymed's default and ceiling for maxEntries

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]);
}

interface Listed { results: Array<{ entries: Array<{ name: string }>; truncated: boolean }> }

test('list of a 100 000-entry directory is bounded by maxEntries and flymed memory stays sane', { skip: process.platform !== 'linux' && 'reads /proc', timeout: 300_000 }, async (t) => {
  const dir = tempDir();
  const root = join(dir, 'root');
  const big = join(root, 'big');
  mkdirSync(big, { recursive: true });
  for (let i = 0; i < ENTRIES; i++) closeSync(openSync(join(big, `entry-${i}`), 'w'));
  mkdirSync(join(root, 'small'));
  writeFileSync(join(root, 'small', 'one'), '');
  const policy = join(dir, 'policy.yaml');
  const uid = process.getuid?.() ?? 0;
  writeFileSync(policy, `roles:\n  lister: { methods: [list], list: { roots: [${root}] } }\nbindings:\n  - { uid: ${uid}, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0600', '--policy', policy], { dir });
  const client = await connect(d.url, { callTimeoutMs: 60_000 });
  try {
    const first = await client.call<Listed>('list', { paths: [big] });
    assert.equal(first.results[0]!.entries.length, MAX);
    assert.equal(first.results[0]!.truncated, true);
    const baseline = rssKiB(d.proc.pid!);
    for (let i = 0; i < 30; i++) {
      // maxEntries bounds the whole call: the first path takes it all, the others come back empty, truncated.
      const r = await client.call<Listed>('list', { paths: [big, big, big, big] });
      assert.deepEqual(r.results.map((res) => res.entries.length), [MAX, 0, 0, 0]);
      for (const res of r.results) assert.equal(res.truncated, true);
    }
    const few = await client.call<Listed>('list', { paths: [big], maxEntries: 7 });
    assert.equal(few.results[0]!.entries.length, 7);
    assert.equal(few.results[0]!.truncated, true);
    const after = rssKiB(d.proc.pid!);
    t.diagnostic(`flymed VmRSS: ${baseline} kB after the first call, ${after} kB after 120 more listings`);
    // 100 000 names with their stats would be tens of MiB per listing; bounded reads stay near the baseline.
    assert.ok(after < baseline + 64 * 1024, `flymed grew from ${baseline} kB to ${after} kB`);
    assert.ok(after < 512 * 1024, `flymed uses ${after} kB`);
    // Control: a small directory is listed whole.
    const small = await client.call<Listed>('list', { paths: [join(root, 'small')] });
    assert.deepEqual(small.results[0]!.entries.map((e) => e.name), ['one']);
    assert.equal(small.results[0]!.truncated, false);
  } finally {
    await client.close();
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
