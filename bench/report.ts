/** Rows, ratios and targets of the benchmark report (bench/run.ts). */
export type Samples = Record<string, number[]>;

/**
 * One reported figure: medians of the repeats, their min–max, the ratio FlyMe / baseline, the target.
 * `invalid` names a figure that cannot be right (not finite, zero or negative where only a positive value
 * makes sense): such a row never counts as met, and the runner exits non-zero.
 */
export interface Row {
  case: string; baseline: string; baselineValue: number; flyme: number; ratio: number; target: string; ok: boolean | null;
  baselineRange: [number, number]; flymeRange: [number, number]; repeats: number; invalid?: string;
  /**
   * `ratio` is the median of the per-repeat ratios (FlyMe's repeat i over the baseline's repeat i, measured in
   * the same interleaved round), `ratioRange` their min–max; `ratioOfMedians` is FlyMe's median over the
   * baseline's median. They differ when the machine's speed changed between rounds.
   */
  ratioRange: [number, number]; ratioOfMedians: number;
  /** Both figures are baselines (shown for comparison; the "FlyMe" column holds the second baseline figure). */
  baselineOnly?: true;
}

const baselineOnly = (r: Row | undefined) => { if (r) r.baselineOnly = true; return r; };

/** The median (upper middle for an even count) of `xs`; NaN for none. */
export const median = (xs: readonly number[] | undefined): number => { if (!xs?.length) return NaN; const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const range = (xs: number[] | undefined): [number, number] => (xs?.length ? [Math.min(...xs), Math.max(...xs)] : [NaN, NaN]);

/** Why a row's figures cannot be right, or undefined. Every measured quantity here is positive. */
export function invalidReason(r: Pick<Row, 'baseline' | 'baselineValue' | 'flyme' | 'baselineRange' | 'flymeRange'>): string | undefined {
  const values: Array<[string, number]> = [['FlyMe', r.flyme], ['FlyMe min', r.flymeRange[0]]];
  if (r.baseline !== '—') values.push(['baseline', r.baselineValue], ['baseline min', r.baselineRange[0]]);
  for (const [what, v] of values) {
    if (!Number.isFinite(v)) return `${what} is not a number`;
    if (v <= 0) return `${what} is ${v}: a rate, time, CPU time or size is positive`;
  }
  return undefined;
}

export function buildRows(s: Samples): Row[] {
  const m = (k: string) => median(s[k]);
  const row = (name: string, baseline: string, bk: string | number, fk: string, target = '', test?: (ratio: number) => boolean): Row | undefined => {
    if (!s[fk]?.length) return undefined; // not measured in this mode (--cpu runs a part)
    const b = typeof bk === 'number' ? bk : m(bk);
    const f = m(fk);
    // Paired when both sides have one sample per repeat: repeat i of FlyMe over repeat i of the baseline, which
    // ran seconds before it in the same round, so a slow minute of the machine slows both sides of a pair.
    const bs = typeof bk === 'number' ? undefined : s[bk];
    const pairs = bs && bs.length === s[fk]!.length ? s[fk]!.map((v, i) => v / bs[i]!) : undefined;
    const ratio = pairs ? median(pairs) : f / b;
    const r: Row = {
      case: name, baseline, baselineValue: b, flyme: f, ratio, target, ok: test ? test(ratio) : null,
      baselineRange: typeof bk === 'number' ? [bk, bk] : range(s[bk]), flymeRange: range(s[fk]), repeats: s[fk]!.length,
      ratioRange: pairs ? range(pairs) : [ratio, ratio], ratioOfMedians: f / b,
    };
    const invalid = invalidReason(r);
    if (invalid) { r.invalid = invalid; if (r.ok !== null) r.ok = false; }
    return r;
  };
  const le = (x: number) => (r: number) => r <= x;
  const ge = (x: number) => (r: number) => r >= x;
  const curve = (['1', '8', '64', '512'] as const).flatMap((n) => [
    row(`unix:// ${n} connection(s) × 32 in flight calls/s`, 'node net', `net.curve${n}.rate`, `flyme-unix.curve${n}.rate`),
    row(`unix:// ${n} connection(s) × 32 in flight p99 (µs)`, 'node net', `net.curve${n}.p99`, `flyme-unix.curve${n}.p99`),
    row(`unix:// ${n} connection(s) × 32 in flight, server RSS (MiB)`, 'node net', `net.curve${n}.rss`, `flyme-unix.curve${n}.rss`),
  ]);
  return [
    row('server CPU per call, unix://, 32 in flight (µs)', 'node net', 'net.serverUs', 'flyme-unix.serverUs', '≤ 1.3', le(1.3)),
    row('client CPU per call, unix://, 32 in flight (µs)', 'node net', 'net.clientUs', 'flyme-unix.clientUs', '≤ 1.3', le(1.3)),
    row('server CPU per call, unix+tls://, 32 in flight (µs)', 'node tls', 'tls.serverUs', 'flyme-tls.serverUs', '≤ 1.3', le(1.3)),
    row('client CPU per call, unix+tls://, 32 in flight (µs)', 'node tls', 'tls.clientUs', 'flyme-tls.clientUs', '≤ 1.3', le(1.3)),
    row('unix:// 32 in flight calls/s, client and server on one CPU', 'node net', 'net.oneCpuRate', 'flyme-unix.oneCpuRate', '≥ 0.8', ge(0.8)),
    row('unix+tls:// 32 in flight calls/s, client and server on one CPU', 'node tls', 'tls.oneCpuRate', 'flyme-tls.oneCpuRate', '≥ 0.8', ge(0.8)),
    row('unix:// 8 connections × 32 in flight calls/s', 'node net', 'net.c8Rate', 'flyme-unix.c8Rate'),
    row('unix:// 8 connections × 32 in flight p99 (µs)', 'node net', 'net.c8p99', 'flyme-unix.c8p99'),
    row('unix+tls:// 8 connections × 32 in flight calls/s', 'node tls', 'tls.c8Rate', 'flyme-tls.c8Rate'),
    row('unix+tls:// 8 connections × 32 in flight p99 (µs)', 'node tls', 'tls.c8p99', 'flyme-tls.c8p99'),
    ...curve,
    row('unix:// sequential p50 (µs)', 'node net', 'net.p50', 'flyme-unix.p50', '≤ 1.25', le(1.25)),
    row('unix:// sequential p99 (µs)', 'node net', 'net.p99', 'flyme-unix.p99'),
    row('unix:// sequential calls/s', 'node net', 'net.seqRate', 'flyme-unix.seqRate'),
    row('unix:// 32 in flight calls/s', 'node net', 'net.inflight', 'flyme-unix.inflight', '≥ 0.8', ge(0.8)),
    row('unix+tls:// sequential p50 (µs)', 'node tls', 'tls.p50', 'flyme-tls.p50', '≤ 1.25', le(1.25)),
    row('unix+tls:// sequential p99 (µs)', 'node tls', 'tls.p99', 'flyme-tls.p99'),
    row('unix+tls:// 32 in flight calls/s', 'node tls', 'tls.inflight', 'flyme-tls.inflight', '≥ 0.8', ge(0.8)),
    row('unix+tls:// 32 in flight calls/s', 'grpc-js', 'grpc.inflight', 'flyme-tls.inflight', '≥ 8', ge(8)),
    row('unix+tls:// sequential p50 (µs)', 'grpc-js', 'grpc.p50', 'flyme-tls.p50'),
    row('flyme/grpc (mTLS + JWT + roles) sequential p50 (µs)', 'grpc-js mTLS', 'grpc.p50', 'flyme-grpc.p50'),
    row('flyme/grpc (mTLS + JWT + roles) 32 in flight calls/s', 'grpc-js mTLS', 'grpc.inflight', 'flyme-grpc.inflight', '≥ 0.9', ge(0.9)),
    // No target: against grpc-js sending the same bearer header unverified, what FlyMe's checks cost beyond the header.
    row('flyme/grpc (mTLS + JWT + roles) 32 in flight calls/s', 'grpc-js mTLS + bearer header', 'grpc-bearer.inflight', 'flyme-grpc.inflight'),
    // No target: where flyme/grpc's cost lies, server and client, in the same slices as the calls/s rows above.
    row('flyme/grpc (mTLS + JWT + roles) server CPU per call, 32 in flight (µs)', 'grpc-js mTLS', 'grpc.inflightServerUs', 'flyme-grpc.inflightServerUs'),
    row('flyme/grpc (mTLS + JWT + roles) client CPU per call, 32 in flight (µs)', 'grpc-js mTLS', 'grpc.inflightClientUs', 'flyme-grpc.inflightClientUs'),
    baselineOnly(row('grpc-js mTLS + bearer header (unverified) 32 in flight calls/s, for comparison', 'grpc-js mTLS', 'grpc.inflight', 'grpc-bearer.inflight')),
    row('full mTLS handshakes/s (+ first call)', 'node tls', 'tls.connectFull', 'flyme-tls.connectFull', '≥ 0.8', ge(0.8)),
    row('resumed mTLS handshakes/s', 'node tls', 'tls.connectResumed', 'flyme-tls.connectResumed'),
    row('resumed / full handshakes/s (FlyMe)', 'FlyMe full', 'flyme-tls.connectFull', 'flyme-tls.connectResumed', '≥ 2', ge(2)),
    // The hand-written node:tls pair's own resumed/full ratio in the same run (no target): what Node's TLS allows here.
    baselineOnly(row('resumed / full handshakes/s (node:tls, for comparison)', 'node tls full', 'tls.connectFull', 'tls.connectResumed')),
    row('RSS per idle connection, unix:// (bytes)', 'node net', 'net.rssPerConn', 'flyme-unix.rssPerConn', '≤ 1.5', le(1.5)),
    row('RSS per idle mTLS connection (bytes)', 'node tls', 'tls.rssPerConn', 'flyme-tls.rssPerConn', '≤ 1.3', le(1.3)),
    row('`flyme ping` CLI cold start (ms)', 'node -e 0', 'node.coldMs', 'cli.coldMs', '≤ 2', le(2)),
    row('JWT verify/s (ES256), a new token each time', 'raw crypto verify', 'micro.rawVerify', 'micro.flymeVerifyNew', '≥ 0.7', ge(0.7)),
    row('JWT verify/s (ES256), the same token again (verdict reused)', 'raw crypto verify', 'micro.rawVerify', 'micro.flymeVerify'),
    row('JWT verify/s (ES256), same token, 16 in flight', 'raw crypto verify', 'micro.rawVerify', 'micro.flymeVerify16'),
    row('JWT sign/s (ES256)', 'raw crypto sign', 'micro.rawSign', 'micro.flymeSign'),
    row('Redis pub/sub messages/s end to end, signed + verified', 'unsigned publish', 'redis-plain.pubsub', 'redis-signed.pubsub', '≥ 0.5', ge(0.5)),
    // Same, with batch envelopes off: one signature, one PUBLISH per message (what a publisher awaiting each message gets).
    row('Redis pub/sub messages/s end to end, signed + verified, one envelope per message (batch: false)', 'unsigned publish', 'redis-plain.pubsub', 'redis-signed-single.pubsub'),
    row('Redis Cluster sharded pub/sub messages/s end to end, signed + verified', 'unsigned SPUBLISH', 'cluster-plain.pubsub', 'cluster-signed.pubsub'),
    row('X.509-SVIDs issued/s (P-256, with key generation)', '—', 1, 'micro.certs'),
  ].filter((r): r is Row => r !== undefined);
}

const fmt = (x: number) => (Number.isNaN(x) ? 'n/a' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
const spread = (v: number, [lo, hi]: [number, number]) => (lo === hi ? fmt(v) : `${fmt(v)} (${fmt(lo)}–${fmt(hi)})`);
/**
 * A row's judged ratio to 2 decimals, or to 3 when 2 would round a miss onto its target (0.8957 against
 * "≥ 0.9" reads 0.896, not 0.90 next to "MISSED").
 */
export function judgedRatio(x: Pick<Row, 'ratio' | 'target' | 'ok'>): string {
  const two = x.ratio.toFixed(2);
  const m = /^([≥≤]) ([\d.]+)$/.exec(x.target);
  if (x.ok !== false || !m) return two;
  const bound = Number(m[2]);
  const shownMeets = m[1] === '≥' ? Number(two) >= bound : Number(two) <= bound;
  return shownMeets ? x.ratio.toFixed(3) : two;
}
const ratioSpread = (x: Row) => (x.ratioRange[0] === x.ratioRange[1] ? judgedRatio(x) : `${judgedRatio(x)} (${x.ratioRange[0].toFixed(2)}–${x.ratioRange[1].toFixed(2)})`);

/** The run's repeat counts as bench/run.ts's config C holds them (slices: the 32-in-flight RPC rows and the handshakes). */
interface RunConfig {
  repeats: number; repeatsJudged?: number; slices?: number; inflightSlices?: number; warmRounds?: number; sliceMs?: number; warmSliceMs?: number;
  /** The sequential rows in slices (since 2026-12-02): how many, of how many calls each (grpc kinds), after a discarded slice of seqWarm calls. */
  seqSlices?: number; seq?: number; seqGrpc?: number; seqWarm?: number;
  /** The RPC rows' slices in this many blocks, each on freshly started processes (since 2026-12-02; absent or 1: one block). */
  pairBlocks?: number;
  /** The handshake rows' slices in this many blocks of fresh processes (since 2026-12-02 afternoon; absent or 1: one set of processes). */
  handshakeBlocks?: number;
  /**
   * The CPU-per-call and one-CPU rows in slices (since 2026-12-02; until then repeatsJudged fresh-process rounds):
   * cpuSlices slices of cpuSliceMs in cpuBlocks blocks, each after a discarded cpuWarmMs slice and cpuWarmRounds rounds.
   */
  cpuSlices?: number; cpuBlocks?: number; cpuSliceMs?: number; cpuWarmMs?: number; cpuWarmRounds?: number;
  /** Every other block starts the kinds in the opposite order (since 2026-12-03; absent: always in the same order). */
  alternateStartOrder?: boolean;
}

/** The report header's sentence on how many repeats each row's median is of. */
function repeatsSentence(c: RunConfig): string {
  const blocked = (c.pairBlocks ?? 1) > 1;
  const hsBlocked = (c.handshakeBlocks ?? 1) > 1;
  const stayUp = blocked && hsBlocked ? ' (for one block, see below)' : blocked ? ' (the RPC rows\' for one block, see below)' : hsBlocked ? ' (the handshake rows\' for one block, see below)' : '';
  const judged = c.repeatsJudged !== undefined && c.repeatsJudged > c.repeats;
  const rows = c.seqSlices !== undefined ? 'CPU-per-call and one-CPU throughput rows' : c.slices !== undefined ? 'CPU-per-call and sequential RPC rows' : 'CPU-per-call, RPC and handshake rows';
  const counts = judged ? `Median of ${c.repeatsJudged} interleaved repeats for the ${rows} and of ${c.repeats} for the others`
    : c.cpuSlices !== undefined ? `Median of ${c.repeats} interleaved repeats for the rows not named below` : `Median of ${c.repeats} interleaved repeats`;
  const order = c.alternateStartOrder ? ' (every other block in the opposite order of kinds: with the same code in every slot, the pair started last ran about 5 % faster than the others)' : '';
  const cpu = c.cpuSlices !== undefined
    ? ` The CPU-per-call and one-CPU throughput rows: median of ${c.cpuSlices} slices of ${c.cpuSliceMs} ms (32 calls in flight on one connection) in ${c.cpuBlocks} block${c.cpuBlocks === 1 ? '' : 's'}: each block starts every kind's server afresh${c.alternateStartOrder ? ' (every other block in the opposite order of kinds)' : ''} with two clients, one on its own CPU and one on the server's, warms each by a discarded ${c.cpuWarmMs} ms slice${c.cpuWarmRounds ? ` and ${c.cpuWarmRounds} discarded round${c.cpuWarmRounds === 1 ? '' : 's'}` : ''}, and they take turns slice by slice (the order reversed every other round).`
    : '';
  const slices = c.slices !== undefined
    ? ` The 32-in-flight RPC rows (one connection) and the handshake rows: median of ${c.inflightSlices !== undefined && c.inflightSlices !== c.slices ? `${c.inflightSlices} (RPC) and ${c.slices} (handshakes)` : c.slices} slices of ${c.sliceMs} ms; every kind's server and one client process stay up${stayUp}, warmed by a discarded ${c.warmSliceMs} ms slice${c.warmRounds ? ` (and, for the RPC rows, ${c.warmRounds} discarded rounds)` : ''}, and take turns slice by slice (the order reversed every other round; full and resumed handshakes alternate in one client), so each FlyMe slice is paired with its baseline's slice of the same round.`
    : '';
  const seq = c.seqSlices !== undefined
    ? ` The sequential RPC rows: median of ${c.seqSlices} slices of ${c.seq} calls (${c.seqGrpc} for grpc-js and flyme/grpc) the same way, warmed by a discarded slice of ${c.seqWarm} calls${c.warmRounds ? ` and ${c.warmRounds} discarded rounds` : ''}; each slice's p50 and p99 are of its own calls.`
    : '';
  const blocks = blocked
    ? ` The RPC rows' slices are taken in ${c.pairBlocks} blocks: each block starts every kind's server and client afresh${order} and warms them as above, so each of those medians mixes ${c.pairBlocks} processes per kind (a process keeps its own speed for its whole life: identical grpc-js pairs ran at 0.95–1.02 of one another).`
    : '';
  const hsBlocks = hsBlocked
    ? ` The handshake rows' slices are taken in ${c.handshakeBlocks} blocks the same way, each on a freshly started server and client per kind, warmed again.`
    : '';
  return `${counts} after a discarded warm-up.${cpu}${slices}${seq}${blocks}${hsBlocks} 64-byte payloads.`;
}

export function toMarkdown(r: { date: string; node: string; cpus: number; cpuModel: string; pinned: boolean; mode: string; config: RunConfig; baselines: Record<string, string>; rows: Row[] }): string {
  return [
    `# FlyMe benchmark (${r.date}, Node ${r.node}, ${r.cpus} CPUs ${r.cpuModel}, ${r.pinned ? 'pinned: servers CPU 0, sequential clients CPU 0, concurrent clients CPU 1' : 'NOT pinned (taskset missing)'}, ${r.mode})`,
    '',
    `${repeatsSentence(r.config)} Baselines: ${Object.entries(r.baselines).map(([k, v]) => `**${k}**: ${v}`).join('; ')}.`,
    '',
    'Ratio: the median of the per-repeat ratios (each FlyMe repeat over the baseline repeat of the same round), their min–max in brackets; the target is judged on it. "of medians": FlyMe\'s median over the baseline\'s.',
    '',
    '| case | baseline | baseline median (min–max) | FlyMe median (min–max) | ratio (min–max) | of medians | target | |',
    '|---|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.case} | ${x.baseline} | ${x.baseline === '—' ? '' : spread(x.baselineValue, x.baselineRange)} | ${spread(x.flyme, x.flymeRange)} | ${x.baseline === '—' ? '' : ratioSpread(x)} | ${x.baseline === '—' ? '' : x.ratioOfMedians.toFixed(2)} | ${x.target} | ${x.invalid ? `INVALID: ${x.invalid}` : x.ok === null ? '' : x.ok ? 'met' : 'MISSED'} |`),
    '',
  ].join('\n');
}

/** One row measured for today's FlyMe and for FlyMe at an earlier revision, in the same run (`--before REV`). */
export interface BeforeAfterRow {
  case: string; baseline: string; unit: 'higher is better' | 'lower is better';
  before: number; after: number; beforeRatio: number; afterRatio: number; beforeRange: [number, number]; afterRange: [number, number];
  target: string; beforeOk: boolean | null; afterOk: boolean | null; invalid?: string;
}

/** Pairs today's rows with the old build's rows of the same case (rows the old build did not measure are left out). */
export function beforeAfterRows(now: Row[], old: Row[]): BeforeAfterRow[] {
  return now.flatMap((a) => {
    const b = old.find((x) => x.case === a.case && x.baseline === a.baseline);
    return b && !a.baselineOnly ? [pair(a, b)] : [];
  });
}

function pair(a: Row, b: Row): BeforeAfterRow {
  const lower = /\((µs|ms|bytes|MiB)\)/.test(a.case);
  // A row of FlyMe against FlyMe (resumed / full handshakes) compares its ratio, not its numerator alone.
  const self = a.baseline.startsWith('FlyMe');
  const r: BeforeAfterRow = {
    case: a.case, baseline: a.baseline, unit: lower ? 'lower is better' : 'higher is better',
    before: self ? b.ratio : b.flyme, after: self ? a.ratio : a.flyme, beforeRatio: b.ratio, afterRatio: a.ratio,
    beforeRange: self ? [b.ratio, b.ratio] : b.flymeRange, afterRange: self ? [a.ratio, a.ratio] : a.flymeRange,
    target: a.target, beforeOk: b.ok, afterOk: a.ok,
  };
  const invalid = b.invalid ?? a.invalid;
  if (invalid) r.invalid = invalid;
  return r;
}

export function beforeMarkdown(r: { rev: string; subject: string; rows: BeforeAfterRow[] }): string {
  const ok = (x: boolean | null) => (x === null ? '' : x ? ' met' : ' MISSED');
  return [
    `### Before/after in the same run: FlyMe at ${r.rev} ("${r.subject.length > 80 ? `${r.subject.slice(0, 79)}…` : r.subject}") and today's FlyMe`,
    '',
    'Both builds ran interleaved beside the same baselines (today\'s bench files compiled against each). "now/before" is today\'s FlyMe figure over the old one.',
    '',
    '| case | baseline | FlyMe before (min–max) | ratio before | FlyMe now (min–max) | ratio now | target | now/before |',
    '|---|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.case} | ${x.baseline} | ${spread(x.before, x.beforeRange)} | ${x.baseline === '—' ? '' : judgedRatio({ ratio: x.beforeRatio, target: x.target, ok: x.beforeOk })}${ok(x.beforeOk)} | ${spread(x.after, x.afterRange)} | ${x.baseline === '—' ? '' : judgedRatio({ ratio: x.afterRatio, target: x.target, ok: x.afterOk })}${ok(x.afterOk)} | ${x.target} | ${x.invalid ? `INVALID: ${x.invalid}` : `${(x.after / x.before).toFixed(2)} (${x.unit})`} |`),
    '',
  ].join('\n');
}
