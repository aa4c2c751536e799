/** Scenario helpers for `flyme agent` and `flyme ca serve`: start the built binaries, wait until ready, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FLYME, runCli } from './daemon.js';

export interface SpawnUser { uid?: number; gid?: number }

export interface Proc { proc: ChildProcess; stdout(): string; log(): string; stop(): Promise<void> }
export interface Agent extends Proc { dir: string; sock: string; url: string; caSocket: string }

/** Runs `flyme ARGS…` until its stderr shows `ready`. */
export async function startFlyme(args: string[], ready: string, user: SpawnUser = {}): Promise<Proc> {
  const proc = spawn(process.execPath, [FLYME, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let out = '';
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const p: Proc = {
    proc, stdout: () => out, log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  const deadline = Date.now() + 15_000;
  while (!log.includes(ready)) {
    if (proc.exitCode !== null) throw new Error(`flyme ${args[0]} exited with ${proc.exitCode}:\n${log}`);
    if (Date.now() > deadline) { await p.stop(); throw new Error(`flyme ${args[0]} did not become ready:\n${log}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return p;
}

/** `flyme agent --ca local` (trust domain example.org) in `dir`. */
export async function startAgent(dir: string, extra: string[] = []): Promise<Agent> {
  const sock = join(dir, 'agent.sock');
  const caSocket = `unix://${join(dir, 'ca.sock')}`;
  const hasCa = extra.includes('--ca');
  const p = await startFlyme(['agent', ...(hasCa ? [] : ['--ca', 'local', '--trust-domain', 'example.org', '--ca-socket', caSocket]),
    '--data-dir', join(dir, 'agent-data'), '--socket', `unix://${sock}`, ...extra], 'flyme agent ready');
  return { ...p, dir, sock, url: `unix://${sock}`, caSocket };
}

/** `flyme ca entry create …`; returns the new entry's id. */
export async function createEntry(caSocket: string, spiffeId: string, parent: string, selectors: string[], extra: string[] = []): Promise<string> {
  const r = await runCli(['ca', 'entry', 'create', '--ca-socket', caSocket, '--spiffe-id', spiffeId, '--parent', parent, ...selectors.flatMap((s) => ['--selector', s]), ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const m = /^created (\S+)\s/.exec(r.stdout);
  assert.ok(m, `unexpected create output: ${r.stdout}`);
  return m[1]!;
}
