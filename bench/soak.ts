/**
 * `npm run soak [-- --quick] [--out FILE]`: starts the built flymed (default limits, signed audit log) on a temporary
 * Unix socket and runs load phases against it: connection churn, garbage bytes, slowloris, notification floods.
 * During each phase a control client (a separate process, bench/soak-control.ts) pings sequentially. Reports per
 * phase the daemon's peak RSS, control latency p50/p99, control errors, fresh-connection admissions, audit growth
 * and whether the daemon survived; then stops the daemon and verifies the audit chain with `flyme audit-log verify`.
 * Loopback only. Bounded: every phase has a deadline (about 5 minutes in total; `--quick` takes about one).
 * Not part of `npm test`. It reports what it sees; it does not fail on it (exit 1 only if the soak itself breaks).
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditFileSet } from '../src/audit/files.js';
import { generateSigningKey } from '../src/auth/index.js';
import type { ControlReport } from './soak-control.js';
import { churn, garbage, notifications, slowloris, type LoadResult } from './soak-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const FLYMED = join(root, 'dist/src/daemon/flymed.js');
const FLYME = join(root, 'dist/src/cli/flyme.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : undefined;
if (outIndex >= 0 && !outFile) throw new Error('--out needs a file name');
const MiB = 1024 * 1024;
const C = quick
  ? { baselineMs: 2000, churn: 1000, garbage: 64 * MiB, slowloris: 200, holdMs: 8000, notifications: 10_000, phaseMs: 40_000 }
  : { baselineMs: 3000, churn: 10_000, garbage: 1024 * MiB, slowloris: 1000, holdMs: 30_000, notifications: 100_000, phaseMs: 60_000 };

const dir = mkdtempSync(join(tmpdir(), 'flyme-soak-'));
const sock = join(dir, 'flyme.sock');
const auditLog = join(dir, 'audit', 'audit.log');
// A trusted token issuer, so that `authenticate` really verifies (and refuses) the flood's junk tokens.
const jwks = join(dir, 'jwks.json');
writeFileSync(jwks, JSON.stringify({ keys: [(await generateSigningKey('ES256', 'soak')).publicJwk] }));

// ---- the daemon ----
// As root the load runs as root and the control as another user (uid 65534, granted ping by the policy): a
// per-uid connection cap must keep the control served while the attacker's uid is at its cap.
const CONTROL_UID = process.getuid?.() === 0 ? 65534 : undefined;
const policyFile = join(dir, 'policy.yaml');
writeFileSync(policyFile, `roles:\n  pinger: { methods: [ping] }\nbindings:\n  - { uid: ${process.getuid?.() ?? 0}, roles: [admin] }\n${CONTROL_UID !== undefined ? `  - { uid: ${CONTROL_UID}, roles: [pinger] }\n` : ''}`);
if (CONTROL_UID !== undefined) chmodSync(dir, 0o755);
const daemon = spawn(process.execPath, [FLYMED, '--listen', `unix://${sock}`, '--socket-mode', '0666', '--policy', policyFile, '--audit-log', auditLog, '--jwks', jwks, '--token-issuer', 'soak'], { stdio: ['ignore', 'ignore', 'pipe'] });
let logTail = '';
let logBytes = 0;
daemon.stderr!.on('data', (d: Buffer) => { logBytes += d.length; logTail = (logTail + d.toString()).slice(-8192); });
const exited = new Promise<string>((r) => daemon.once('exit', (code, signal) => r(signal ?? String(code))));
const alive = () => daemon.exitCode === null && daemon.signalCode === null;
for (const deadline = Date.now() + 15_000; !logTail.includes('flymed ready');) {
  if (!alive() || Date.now() > deadline) { process.stderr.write(`soak: flymed did not start:\n${logTail}\n`); process.exit(1); }
  await new Promise((r) => setTimeout(r, 50));
}
const pid = daemon.pid!;

// ---- memory: VmHWM reset per phase through /proc/PID/clear_refs (root), VmRSS sampled as a fallback ----
const status = (): { rss: number; hwm: number } | undefined => {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? NaN) / 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? NaN) / 1024 };
  } catch {
    return undefined;
  }
};
const resetPeak = (): boolean => { try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true; } catch { return false; } };

// ---- the control client ----
const control: ChildProcess = fork(join(here, 'soak-control.js'), ['--run', sock], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(CONTROL_UID !== undefined ? { uid: CONTROL_UID, gid: CONTROL_UID } : {}),
});
const fromControl = <T>(): Promise<T> => new Promise((r) => control.once('message', (m) => r(m as T)));
await fromControl<{ ready: true }>();

/** One request on a fresh connection (status after a phase: audit seq and drops). */
function call(method: string, timeoutMs = 5000): Promise<Record<string, any> | undefined> {
  return new Promise((resolvePromise) => {
    const s = connect(sock);
    let buf = '';
    const done = (v: Record<string, any> | undefined) => { clearTimeout(t); s.destroy(); resolvePromise(v); };
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('error', () => done(undefined));
    s.on('connect', () => s.write(`{"jsonrpc":"2.0","id":1,"method":"${method}"}\n`));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { try { done(JSON.parse(buf.slice(0, nl)).result); } catch { done(undefined); } }
    });
  });
}

const auditBytes = () => auditFileSet(auditLog).reduce((n, f) => n + statSync(f, { throwIfNoEntry: false })!.size, 0);

interface Row {
  phase: string;
  load: string;
  seconds: number;
  peakRss: number;
  endRss: number;
  control: ControlReport;
  auditGrowth: number;
  auditSeq?: number;
  auditDropped?: number;
  survived: boolean;
}
const rows: Row[] = [];

async function phase(name: string, run: (deadline: number) => Promise<LoadResult>, phaseMs = C.phaseMs): Promise<void> {
  if (!alive()) {
    rows.push({ phase: name, load: 'skipped: the daemon is gone', seconds: 0, peakRss: NaN, endRss: NaN, control: emptyControl(), auditGrowth: 0, survived: false });
    return;
  }
  process.stderr.write(`soak: ${name} ...\n`);
  const canReset = resetPeak();
  let sampledPeak = status()?.rss ?? NaN;
  const sampler = setInterval(() => { const s = status(); if (s) sampledPeak = Math.max(sampledPeak, s.rss); }, 100);
  const auditBefore = auditBytes();
  control.send({ start: name });
  const started = Date.now();
  let load: LoadResult;
  try {
    load = await run(started + phaseMs);
  } catch (e) {
    load = { summary: `load generator failed: ${(e as Error).message}`, partial: true };
  }
  const seconds = (Date.now() - started) / 1000;
  const reply = fromControl<ControlReport>();
  control.send({ stop: true });
  const report = await reply;
  clearInterval(sampler);
  const st = status();
  const peak = canReset && st ? Math.max(st.hwm, sampledPeak) : sampledPeak;
  // Let the audit queue settle (seq unchanged for 0.5 s, at most 20 s), reading its state on a fresh connection.
  let s: Record<string, any> | undefined;
  for (let i = 0, seq = -1; i < 40 && alive(); i++) {
    await new Promise((r) => setTimeout(r, 500));
    s = await call('status');
    if (s?.audit?.seq === seq) break;
    seq = s?.audit?.seq ?? -1;
  }
  rows.push({
    phase: name, load: load.summary + (load.partial ? ' — cut short by the phase deadline' : ''), seconds, peakRss: peak, endRss: st?.rss ?? NaN,
    control: report, auditGrowth: auditBytes() - auditBefore, auditSeq: s?.audit?.seq, auditDropped: s?.audit?.dropped, survived: alive() && s !== undefined,
  });
}

function emptyControl(): ControlReport {
  return { pings: 0, p50: NaN, p99: NaN, max: NaN, errors: 0, errorReasons: {}, freshOk: 0, freshFailed: 0, freshReasons: {} };
}

await phase('baseline (idle)', async () => {
  await new Promise((r) => setTimeout(r, C.baselineMs));
  return { summary: `${C.baselineMs / 1000} s without load`, partial: false };
});
await phase('connection churn', (deadline) => churn(sock, C.churn, 20, deadline));
await phase('garbage bytes', (deadline) => garbage(sock, C.garbage, 16, deadline));
await phase('slowloris', (deadline) => slowloris(sock, C.slowloris, C.holdMs, 1000, deadline));
await phase('notification flood', (deadline) => notifications(sock, C.notifications, 4, deadline), 2 * C.phaseMs);

// ---- stop, verify the audit chain ----
control.send({ exit: true });
const survivedAll = alive();
if (alive()) daemon.kill('SIGTERM');
const exit = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('did not stop within 15 s'), 15_000))]);
if (alive()) daemon.kill('SIGKILL');
const verify = spawnSync(process.execPath, [FLYME, 'audit-log', 'verify', auditLog], { encoding: 'utf8' });
const files = auditFileSet(auditLog);

// ---- report ----
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
const reasons = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ');
const kib = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const lines = [
  `## flymed soak (${quick ? 'quick' : 'full'}) — ${new Date().toISOString()}`,
  '',
  `Node ${process.version}, default daemon limits (100 connections, 32 per uid, 64 in flight, 1 MiB frames, 60 s idle), a trusted token issuer (--jwks). Load as this process's uid ${process.getuid?.()}; control as uid ${CONTROL_UID ?? process.getuid?.()}: one ping at a time with a 10 ms pause on a kept connection (errors = failed pings; it reconnects), plus every 10th round a ping on a fresh connection.`,
  '',
  '| phase | load | s | peak RSS MiB | end RSS MiB | control pings | p50 ms | p99 ms | max ms | control errors | fresh conn ok / failed | audit growth | audit seq (dropped) | daemon alive |',
  '|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|--:|--:|---|',
  ...rows.map((r) => `| ${r.phase} | ${r.load.replace(/\|/g, '/')} | ${r.seconds.toFixed(1)} | ${f1(r.peakRss)} | ${f1(r.endRss)} | ${r.control.pings} | ${f2(r.control.p50)} | ${f2(r.control.p99)} | ${f2(r.control.max)} | ${r.control.errors}${r.control.errors ? ` (${reasons(r.control.errorReasons)})` : ''} | ${r.control.freshOk} / ${r.control.freshFailed}${r.control.freshFailed ? ` (${reasons(r.control.freshReasons)})` : ''} | ${kib(r.auditGrowth)} | ${r.auditSeq ?? '-'} (${r.auditDropped ?? '-'}) | ${r.survived ? 'yes' : '**no**'} |`),
  '',
  `- daemon survived all phases: ${survivedAll ? 'yes' : '**no**'}; exit after SIGTERM: ${exit}; daemon log (stderr) ${kib(logBytes)}`,
  `- audit log: ${files.length} file(s), ${kib(files.reduce((n, f) => n + statSync(f).size, 0))} in total`,
  `- \`flyme audit-log verify\` (exit ${verify.status}): ${(verify.stdout + verify.stderr).trim().split('\n')[0]}`,
  ...(survivedAll ? [] : ['', 'daemon log tail:', '```', logTail.trim(), '```']),
];
const text = lines.join('\n') + '\n';
process.stdout.write(text);
if (outFile) writeFileSync(outFile, text);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
