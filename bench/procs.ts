/**
 * Bench processes, shared by bench/run.ts and bench/cpu-pair.ts: node pinned to one CPU (taskset, when this
 * machine has it), a child process run until it prints a marker or exits, and a long-lived child answering
 * one stdin line at a time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** True when `taskset` works here (the runner reports unpinned runs as such). */
export const haveTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** `node ARGS` pinned to `cpu` (unpinned without taskset). */
export const pin = (cpu: number, args: string[]): [string, string[]] => (haveTaskset ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args]);

/**
 * Runs `cmd`; resolves with its stdout so far once it prints `until` (the process keeps running), or at its
 * exit with status 0. Rejects when it cannot start or exits with another status.
 */
export function run(cmd: [string, string[]], until?: string): Promise<{ out: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], cmd[1], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (until && out.includes(until)) resolve({ out, proc: p }); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve({ out, proc: p }) : reject(new Error(`${cmd[1].join(' ')} exited ${code}`))));
  });
}

/**
 * Starts `cmd` as a long-lived helper that answers each line written to its stdin with one line on stdout
 * (bench/client.ts's `slices` mode). `ask` rejects when the process ends without answering.
 */
export function converse(cmd: [string, string[]]): { ask(line: string): Promise<string>; proc: ChildProcess } {
  const p = spawn(cmd[0], cmd[1], { stdio: ['pipe', 'pipe', 'inherit'] });
  p.stdin!.on('error', () => undefined); // a helper that died: the next ask() says so
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  return {
    proc: p,
    async ask(line) {
      p.stdin!.write(line + '\n');
      const next = await lines.next();
      if (next.done) throw new Error(`${cmd[1].join(' ')} ended without an answer to ${JSON.stringify(line)}`);
      return next.value;
    },
  };
}
