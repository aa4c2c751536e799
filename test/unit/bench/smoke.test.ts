// The benchmark harness runs end to end (`--smoke`: about a minute, tiny sizes) and reports every case with a
// numeric baseline, FlyMe figure and ratio, and each target as met or missed. No timing asserted; but a figure
// that cannot be right (negative RSS, zero rate) fails the run, and the check itself is tested below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const run = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));

test('npm run bench -- --smoke --json gives every row', () => {
  const r = spawnSync(process.execPath, [run, '--smoke', '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.mode, 'smoke');
  assert.match(out.node, /^v\d+/);
  const cases = out.rows.map((x: { case: string; baseline: string }) => `${x.case} vs ${x.baseline}`);
  for (const want of ['unix:// sequential p50 (µs) vs node net', 'unix+tls:// 32 in flight calls/s vs grpc-js', 'full mTLS handshakes/s (+ first call) vs node tls',
    'RSS per idle mTLS connection (bytes) vs node tls', '`flyme ping` CLI cold start (ms) vs node -e 0', 'JWT verify/s (ES256), a new token each time vs raw crypto verify', 'server CPU per call, unix://, 32 in flight (µs) vs node net',
    'unix:// 32 in flight calls/s, client and server on one CPU vs node net', 'unix:// 8 connections × 32 in flight calls/s vs node net']) {
    assert.ok(cases.includes(want), `${want} reported`);
  }
  for (const row of out.rows as Array<{ flyme: number; ratio: number; target: string; ok: boolean | null }>) {
    assert.ok(Number.isFinite(row.flyme) && row.flyme > 0, JSON.stringify(row));
    assert.ok(Number.isFinite(row.ratio) && row.ratio > 0, JSON.stringify(row));
    assert.equal(row.target === '' ? row.ok === null : typeof row.ok === 'boolean', true, JSON.stringify(row));
  }
});
