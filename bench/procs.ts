/**
 * Bench processes, shared by bench/run.ts and bench/cpu-pair.ts: node pinned to one CPU (taskset, when this
 * machine has it) and a child process run until it prints a marker or exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

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
