// The report never calls an impossible figure "met": a negative, zero or missing value marks the row
// INVALID (and the runner exits 3); medians and min–max come from the repeats; the generated parts of
// docs/performance.md and README.md are replaced between their markers only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildRows, judgedRatio, toMarkdown } from '../../../bench/report.js';
import { replaceBetween, statusLine } from '../../../bench/docs.js';

const rowOf = (rows: ReturnType<typeof buildRows>, name: string) => rows.find((r) => r.case === name)!;
const RSS_MTLS = 'RSS per idle mTLS connection (bytes)';

test('a negative RSS growth is INVALID, never met (the control with positive figures is met)', () => {
  const bad = rowOf(buildRows({ 'tls.rssPerConn': [50_000], 'flyme-tls.rssPerConn': [-163_020] }), RSS_MTLS);
  assert.equal(bad.ok, false);
  assert.match(bad.invalid!, /FlyMe is -163020/);
  assert.match(toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'smoke', config: { repeats: 1 }, baselines: {}, rows: [bad] }), /INVALID/);
  const good = rowOf(buildRows({ 'tls.rssPerConn': [50_000], 'flyme-tls.rssPerConn': [60_000] }), RSS_MTLS);
  assert.equal(good.invalid, undefined);
  assert.equal(good.ok, true);
});

test('a zero or missing baseline, or one bad repeat among good ones, is INVALID', () => {
  assert.match(rowOf(buildRows({ 'net.serverUs': [0], 'flyme-unix.serverUs': [3] }), 'server CPU per call, unix://, 32 in flight (µs)').invalid!, /baseline is 0/);
  const oneBad = rowOf(buildRows({ 'net.serverUs': [3, 3, 3], 'flyme-unix.serverUs': [3, -1, 3] }), 'server CPU per call, unix://, 32 in flight (µs)');
  assert.match(oneBad.invalid!, /FlyMe min is -1/);
  assert.equal(oneBad.ok, false);
});

test('medians and min–max of the repeats; rows not measured in this mode are left out', () => {
  const rows = buildRows({ 'net.serverUs': [3, 1, 2, 5, 4], 'flyme-unix.serverUs': [4, 4, 6, 5, 3] });
  const r = rowOf(rows, 'server CPU per call, unix://, 32 in flight (µs)');
  assert.equal(r.baselineValue, 3);
  assert.deepEqual(r.baselineRange, [1, 5]);
  assert.equal(r.flyme, 4);
  assert.deepEqual(r.flymeRange, [3, 6]);
  assert.equal(r.repeats, 5);
  assert.equal(rows.length, 1);
});

test('generated docs: only the text between the markers changes; missing markers are an error', () => {
  const doc = 'intro\n<!-- bench:figures:begin -->\nold\n<!-- bench:figures:end -->\nafter\n';
  assert.equal(replaceBetween(doc, 'figures', 'new'), 'intro\n<!-- bench:figures:begin -->\nnew\n<!-- bench:figures:end -->\nafter\n');
  assert.throws(() => replaceBetween('no markers', 'figures', 'x'), /markers/);
  for (const f of ['../../../../docs/performance.md', '../../../../README.md']) {
    const text = readFileSync(fileURLToPath(new URL(f, import.meta.url)), 'utf8');
    assert.doesNotThrow(() => replaceBetween(text, f.endsWith('README.md') ? 'status' : 'figures', 'x'), f);
  }
  const rows = buildRows({ 'net.serverUs': [3], 'flyme-unix.serverUs': [6], 'tls.rssPerConn': [5], 'flyme-tls.rssPerConn': [5] });
  const line = statusLine({ date: '2026-11-30T00:00:00Z', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5 }, baselines: {}, rows });
  assert.match(line, /^2026-11-30 full run: 1 of 2 targets met; MISSED: server CPU per call/);
});

test('the ratio pairs each FlyMe repeat with the baseline repeat of the same round (a slow round slows both)', () => {
  // The unix:// 32-in-flight samples of the 2026-11-30 22:11 full run (rounded): round 3 was slow for both.
  const rows = buildRows({ 'net.inflight': [100769, 188822, 61645, 172680, 190128], 'flyme-unix.inflight': [122765, 92492, 67976, 160301, 181682] });
  const r = rowOf(rows, 'unix:// 32 in flight calls/s');
  assert.equal(r.ratioOfMedians.toFixed(2), '0.71');
  assert.equal(r.ratio.toFixed(2), '0.96'); // median of 1.22, 0.49, 1.10, 0.93, 0.96
  assert.deepEqual(r.ratioRange.map((x) => x.toFixed(2)), ['0.49', '1.22']);
  assert.equal(r.ok, true);
  // Control: a FlyMe that is slower in every round is slower paired too.
  const slow = rowOf(buildRows({ 'net.inflight': [100, 200, 50], 'flyme-unix.inflight': [70, 140, 35] }), 'unix:// 32 in flight calls/s');
  assert.equal(slow.ratio.toFixed(2), '0.70');
  assert.equal(slow.ok, false);
  // Unequal repeat counts cannot be paired: the ratio of the medians is used.
  const unpaired = rowOf(buildRows({ 'net.inflight': [100, 200], 'flyme-unix.inflight': [150] }), 'unix:// 32 in flight calls/s');
  assert.equal(unpaired.ratio, unpaired.ratioOfMedians);
});

test('a missed ratio never reads as its target: 2 decimals, or 3 when 2 would round it onto the target', () => {
  // 0.8957 against "≥ 0.9" printed as 0.90 beside MISSED (bench run of 2026-12-01 10:41).
  assert.equal(judgedRatio({ ratio: 0.8957, target: '≥ 0.9', ok: false }), '0.896');
  assert.equal(judgedRatio({ ratio: 1.3004, target: '≤ 1.3', ok: false }), '1.300');
  // Controls: a met ratio, a miss that 2 decimals show as a miss, and a row without a target keep 2 decimals.
  assert.equal(judgedRatio({ ratio: 0.9012, target: '≥ 0.9', ok: true }), '0.90');
  assert.equal(judgedRatio({ ratio: 0.8012, target: '≥ 0.9', ok: false }), '0.80');
  assert.equal(judgedRatio({ ratio: 1.6449, target: '', ok: null }), '1.64');
  const rows = buildRows({ 'grpc.inflight': [1000, 1000, 1000], 'flyme-grpc.inflight': [895.7, 895.7, 895.7] });
  const md = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 3 }, baselines: {}, rows });
  assert.match(md, /\| 0\.896 \| 0\.90 \| ≥ 0\.9 \| MISSED \|/);
});

test('rows run with more repeats than the others say so, and their ratios pair repeats of the same rounds', () => {
  // The judged rows run C.repeatsJudged rounds; both sides of such a row have that many samples.
  const s = { 'grpc.inflight': [1000, 2000, 1000, 3000, 1000, 1000, 1000], 'flyme-grpc.inflight': [950, 1900, 950, 2850, 950, 950, 950] };
  const rows = buildRows(s);
  const r = rows.find((x) => x.case.startsWith('flyme/grpc') && x.baseline === 'grpc-js mTLS' && x.case.includes('32 in flight'))!;
  assert.equal(r.repeats, 7);
  assert.equal(r.ratio.toFixed(2), '0.95'); // paired round by round: every pair is 0.95
  assert.deepEqual(r.ratioRange.map((x) => x.toFixed(2)), ['0.95', '0.95']);
  const md = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 7 }, baselines: {}, rows });
  assert.match(md, /Median of 7 interleaved repeats for the CPU-per-call, RPC and handshake rows and of 5 for the others/);
  // With the 32-in-flight and handshake rows measured in slices, the header names their count and length apart.
  const sliced = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 7, slices: 21, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(sliced, /Median of 7 interleaved repeats for the CPU-per-call and sequential RPC rows and of 5 for the others/);
  assert.match(sliced, /32-in-flight RPC rows \(one connection\) and the handshake rows: median of 21 slices of 1000 ms; .* a discarded 4000 ms slice,/);
  // More RPC slices than handshake slices, and discarded warm-up rounds: both named.
  const more = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 7, slices: 21, inflightSlices: 31, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(more, /median of 31 \(RPC\) and 21 \(handshakes\) slices of 1000 ms; .* a discarded 4000 ms slice \(and, for the RPC rows, 2 discarded rounds\)/);
  // Sequential rows in slices too (since 2026-12-02): the header says so, and no longer counts them among the repeats.
  const seq = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 11, slices: 21, inflightSlices: 31, seqSlices: 41, seq: 3000, seqGrpc: 600, seqWarm: 15000, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(seq, /Median of 11 interleaved repeats for the CPU-per-call and one-CPU throughput rows and of 5 for the others/);
  assert.match(seq, /The sequential RPC rows: median of 41 slices of 3000 calls \(600 for grpc-js and flyme\/grpc\) the same way, warmed by a discarded slice of 15000 calls and 2 discarded rounds;/);
  assert.doesNotMatch(sliced, /sequential RPC rows: median/);
  // The RPC slices in blocks of fresh processes (since 2026-12-02): named with their count; one block says nothing.
  const blocks = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 11, slices: 21, inflightSlices: 60, seqSlices: 42, seq: 3000, seqGrpc: 600, seqWarm: 15000, pairBlocks: 6, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(blocks, /process stay up \(the RPC rows' for one block, see below\), warmed/);
  assert.match(blocks, /The RPC rows' slices are taken in 6 blocks: each block starts every kind's server and client afresh/);
  assert.doesNotMatch(blocks, /opposite order/);
  // Runs since 2026-12-03 start the kinds in the opposite order every other block, and say so (older runs did not).
  const alternated = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, slices: 21, inflightSlices: 60, seqSlices: 42, seq: 3000, seqGrpc: 600, seqWarm: 15000, pairBlocks: 6, cpuSlices: 40, cpuBlocks: 10, cpuSliceMs: 500, cpuWarmMs: 1000, alternateStartOrder: true, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(alternated, /each block starts every kind's server afresh \(every other block in the opposite order of kinds\) with two clients/);
  assert.match(alternated, /each block starts every kind's server and client afresh \(every other block in the opposite order of kinds: with the same code in every slot, the pair started last ran/);
  assert.doesNotMatch(seq, /blocks|for one block/);
  // The handshake slices in blocks too (since 2026-12-02 afternoon): named apart; with both blocked the phrase covers both.
  const hs = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, slices: 21, inflightSlices: 60, seqSlices: 42, seq: 3000, seqGrpc: 600, seqWarm: 15000, pairBlocks: 6, handshakeBlocks: 3, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(hs, /process stay up \(for one block, see below\), warmed/);
  assert.match(hs, /The RPC rows' slices are taken in 6 blocks: .* The handshake rows' slices are taken in 3 blocks the same way/);
  assert.doesNotMatch(blocks, /handshake rows' slices are taken/);
  // The CPU-per-call and one-CPU rows in slices of blocks too (since 2026-12-02): no longer counted among the repeats.
  const cpu = toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, cpuSlices: 40, cpuBlocks: 10, cpuSliceMs: 500, cpuWarmMs: 1000, cpuWarmRounds: 1, slices: 21, inflightSlices: 60, seqSlices: 42, seq: 3000, seqGrpc: 600, seqWarm: 15000, pairBlocks: 6, warmRounds: 2, sliceMs: 1000, warmSliceMs: 4000 }, baselines: {}, rows });
  assert.match(cpu, /Median of 5 interleaved repeats for the rows not named below after a discarded warm-up\. The CPU-per-call and one-CPU throughput rows: median of 40 slices of 500 ms \(32 calls in flight on one connection\) in 10 blocks: .* one on its own CPU and one on the server's, warms each by a discarded 1000 ms slice and 1 discarded round,/);
  assert.doesNotMatch(cpu, /11 interleaved repeats/);
  assert.doesNotMatch(blocks, /CPU-per-call and one-CPU throughput rows: median/);
  // Control: without extra rounds the header names one count only.
  assert.match(toMarkdown({ date: 'd', node: 'v20', cpus: 2, cpuModel: 'x', pinned: true, mode: 'full', config: { repeats: 5, repeatsJudged: 5 }, baselines: {}, rows }), /Median of 5 interleaved repeats after/);
});
