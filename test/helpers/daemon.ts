/** Scenario DSL: start the built flymed on a temp socket, run the built flyme CLI, raw socket helpers. */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, cpSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
export const FLYMED = join(root, 'dist/src/daemon/flymed.js');
export const FLYME = join(root, 'dist/src/cli/flyme.js');

export interface Daemon {
  dir: string;
  socket: string;
  url: string;
  proc: ChildProcess;
  log(): string;
  /** Resolves with the exit code when the process exits by itself. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A temp dir readable by other users (0755) so uid 65534 can reach sockets inside it. */
export function tempDir(prefix = 'flyme-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** `bare`: pass `args` alone (no --listen/--audit-log added), e.g. when a --config file names them. */
export async function startDaemon(args: string[] = [], opts: { dir?: string; socketName?: string; wait?: boolean; bare?: boolean } = {}): Promise<Daemon> {
  const dir = opts.dir ?? tempDir();
  const socket = join(dir, opts.socketName ?? 'flyme.sock');
  const url = `unix://${socket}`;
  const hasListen = opts.bare || args.includes('--listen');
  // Each daemon writes its own audit log in its temp dir (never the machine's /var/lib/flyme).
  const audit = opts.bare || args.includes('--audit-log') ? [] : ['--audit-log', join(dir, 'audit', 'audit.log')];
  const proc = spawn(process.execPath, [FLYMED, ...(hasListen ? [] : ['--listen', url]), ...audit, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const d: Daemon = {
    dir, socket, url, proc, exited,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  if (opts.wait === false) return d;
  const deadline = Date.now() + 10_000;
  while (!log.includes('flymed ready')) {
    if (proc.exitCode !== null) throw new Error(`flymed exited with ${proc.exitCode}:\n${log}`);
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`flymed did not become ready:\n${log}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return d;
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

const DEV_ONLY = new Set(['typescript', '@types', 'fast-check']);
const cliForUid = new Map<number, string>();

/**
 * The CLI path another uid can run. A checkout under a directory only root may enter (e.g. a 0700
 * mktemp dir in CI) is not readable by uid 65534, so the built package is copied once per test
 * process into a world-readable temp dir (removed at exit), without dev-only modules.
 */
function cliPathFor(uid: number | undefined, gid: number | undefined): string {
  if (uid === undefined || uid === process.getuid?.()) return FLYME;
  const known = cliForUid.get(uid);
  if (known) return known;
  let path = FLYME;
  if (spawnSync(process.execPath, [FLYME, '--version'], { uid, gid: gid ?? uid }).status !== 0) {
    const copy = tempDir('flyme-cli-copy-');
    process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
    for (const part of ['package.json', 'dist/src', 'build', 'proto']) cpSync(join(root, part), join(copy, part), { recursive: true });
    cpSync(join(root, 'node_modules'), join(copy, 'node_modules'), {
      recursive: true,
      filter: (src) => !DEV_ONLY.has(src.slice(join(root, 'node_modules').length + 1).split('/')[0]!),
    });
    path = join(copy, 'dist/src/cli/flyme.js');
  }
  cliForUid.set(uid, path);
  return path;
}

/** Run the built CLI (optionally as another user). */
export function runCli(args: string[], options: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const p = spawn(process.execPath, [cliPathFor(options.uid, options.gid), ...args], { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdin!.end(options.input ?? '');
    p.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** A raw line-oriented socket for wire-level attacks. */
export class RawPeer {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buf += d.toString(); this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => {});
  }
  static open(path: string): Promise<RawPeer> {
    return new Promise((res, rej) => {
      const s = netConnect(path);
      s.once('connect', () => res(new RawPeer(s)));
      s.once('error', rej);
    });
  }
  private wake(): void { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  send(data: string | Buffer): void { this.socket.write(data); }
  /** Next JSON line from the server. */
  async next(timeoutMs = 5000): Promise<Record<string, any>> {
    return JSON.parse(await this.nextLine(timeoutMs));
  }
  /** Next line from the server, as sent (without its newline). */
  async nextLine(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) { const line = this.buf.slice(0, nl); this.buf = this.buf.slice(nl + 1); return line; }
      if (this.closed) throw new Error('closed before a line arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a line');
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => { const t = setTimeout(r, 50); this.waiters.push(() => { clearTimeout(t); r(); }); });
    return this.closed;
  }
  destroy(): void { this.socket.destroy(); }
}

export const isRoot = process.getuid?.() === 0;
export const NOBODY = { uid: 65534, gid: 65534 };

export interface MtlsDaemon { d: Daemon; dir: string; certs: string; url: string; sock: string }

/** `flyme certs init` into a temp dir, then flymed on unix+tls:// with those certs. */
export async function startMtlsDaemon(args: string[] = [], existing?: { dir: string; certs: string }): Promise<MtlsDaemon> {
  const dir = existing?.dir ?? tempDir();
  const certs = existing?.certs ?? join(dir, 'certs');
  if (!existing) {
    const init = await runCli(['certs', 'init', '--dir', certs]);
    if (init.code !== 0) throw new Error(`certs init failed: ${init.stderr}`);
  }
  const sock = join(dir, 'flyme.sock');
  const url = `unix+tls://${sock}`;
  const d = await startDaemon(['--listen', url, '--certs', certs, ...args], { dir });
  return { d, dir, certs, url, sock };
}
