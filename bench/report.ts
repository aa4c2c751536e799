/** Rows, ratios and targets of the benchmark report (bench/run.ts). */
export type Samples = Record<string, number[]>;

export interface Row { case: string; baseline: string; baselineValue: number; flyme: number; ratio: number; target: string; ok: boolean | null }

const median = (xs: number[] | undefined) => { if (!xs?.length) return NaN; const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

export function buildRows(s: Samples): Row[] {
  const m = (k: string) => median(s[k]);
  const row = (name: string, baseline: string, b: number, f: number, target = '', test?: (ratio: number) => boolean): Row => {
    const ratio = f / b;
    return { case: name, baseline, baselineValue: b, flyme: f, ratio, target, ok: test ? test(ratio) : null };
  };
  const le = (x: number) => (r: number) => r <= x;
  const ge = (x: number) => (r: number) => r >= x;
  return [
    row('unix:// sequential p50 (µs)', 'node net', m('net.p50'), m('flyme-unix.p50'), '≤ 1.25', le(1.25)),
    row('unix:// sequential p99 (µs)', 'node net', m('net.p99'), m('flyme-unix.p99')),
    row('unix:// sequential calls/s', 'node net', m('net.seqRate'), m('flyme-unix.seqRate')),
    row('unix:// 32 in flight calls/s', 'node net', m('net.inflight'), m('flyme-unix.inflight'), '≥ 0.8', ge(0.8)),
    row('unix+tls:// sequential p50 (µs)', 'node tls', m('tls.p50'), m('flyme-tls.p50'), '≤ 1.25', le(1.25)),
    row('unix+tls:// sequential p99 (µs)', 'node tls', m('tls.p99'), m('flyme-tls.p99')),
    row('unix+tls:// 32 in flight calls/s', 'node tls', m('tls.inflight'), m('flyme-tls.inflight'), '≥ 0.8', ge(0.8)),
    row('unix+tls:// 32 in flight calls/s', 'grpc-js', m('grpc.inflight'), m('flyme-tls.inflight'), '≥ 8', ge(8)),
    row('unix+tls:// sequential p50 (µs)', 'grpc-js', m('grpc.p50'), m('flyme-tls.p50')),
    row('flyme/grpc (mTLS + JWT + roles) sequential p50 (µs)', 'grpc-js mTLS', m('grpc.p50'), m('flyme-grpc.p50')),
    row('flyme/grpc (mTLS + JWT + roles) 32 in flight calls/s', 'grpc-js mTLS', m('grpc.inflight'), m('flyme-grpc.inflight')),
    row('full mTLS handshakes/s (+ first call)', 'node tls', m('tls.connectFull'), m('flyme-tls.connectFull'), '≥ 0.8', ge(0.8)),
    row('resumed mTLS handshakes/s', 'node tls', m('tls.connectResumed'), m('flyme-tls.connectResumed')),
    row('resumed / full handshakes/s (FlyMe)', 'FlyMe full', m('flyme-tls.connectFull'), m('flyme-tls.connectResumed'), '≥ 2', ge(2)),
    row('RSS per idle connection, unix:// (bytes)', 'node net', m('net.rssPerConn'), m('flyme-unix.rssPerConn')),
    row('RSS per idle mTLS connection (bytes)', 'node tls', m('tls.rssPerConn'), m('flyme-tls.rssPerConn'), '≤ 1.3', le(1.3)),
    row('`flyme ping` CLI cold start (ms)', 'node -e 0', m('node.coldMs'), m('cli.coldMs'), '≤ 2', le(2)),
    row('JWT verify/s (ES256)', 'raw crypto verify', m('micro.rawVerify'), m('micro.flymeVerify'), '≥ 0.7', ge(0.7)),
    row('JWT verify/s (ES256), 16 in flight', 'raw crypto verify', m('micro.rawVerify'), m('micro.flymeVerify16')),
    row('JWT sign/s (ES256)', 'raw crypto sign', m('micro.rawSign'), m('micro.flymeSign')),
    row('Redis pub/sub messages/s end to end, signed + verified', 'unsigned publish', m('redis-plain.pubsub'), m('redis-signed.pubsub')),
    row('Redis Cluster sharded pub/sub messages/s end to end, signed + verified', 'unsigned SPUBLISH', m('cluster-plain.pubsub'), m('cluster-signed.pubsub')),
    row('X.509-SVIDs issued/s (P-256, with key generation)', '—', 1, m('micro.certs')),
  ];
}

const fmt = (x: number) => (Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function toMarkdown(r: { date: string; node: string; cpus: number; cpuModel: string; pinned: boolean; mode: string; config: { repeats: number }; baselines: Record<string, string>; rows: Row[] }): string {
  return [
    `# FlyMe benchmark (${r.date}, Node ${r.node}, ${r.cpus} CPUs ${r.cpuModel}, ${r.pinned ? 'pinned: servers CPU 0, sequential clients CPU 0, concurrent clients CPU 1' : 'NOT pinned (taskset missing)'}, ${r.mode})`,
    '',
    `Median of ${r.config.repeats} interleaved repeats after a discarded warm-up; 64-byte payloads. Baselines: ${Object.entries(r.baselines).map(([k, v]) => `**${k}**: ${v}`).join('; ')}.`,
    '',
    '| case | baseline | baseline value | FlyMe | ratio | target | |',
    '|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.case} | ${x.baseline} | ${x.baseline === '—' ? '' : fmt(x.baselineValue)} | ${fmt(x.flyme)} | ${x.baseline === '—' ? '' : x.ratio.toFixed(2)} | ${x.target} | ${x.ok === null ? '' : x.ok ? 'met' : 'MISSED'} |`),
    '',
  ].join('\n');
}
