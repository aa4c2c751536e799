/** flymed --config scenarios: write a config file, start flymed from it, SIGHUP and wait for the outcome. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir, type Daemon } from './daemon.js';

/** Write `dir/flymed.yaml` with the lines given; returns its path. */
export function writeConfig(dir: string, lines: string[]): string {
  const path = join(dir, 'flymed.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** The lines every test config starts with: a socket and an audit log in `dir`. */
export const baseConfig = (dir: string) => [`listen: [unix://${join(dir, 'flyme.sock')}]`, `audit-log: ${join(dir, 'audit', 'audit.log')}`];

/** flymed started from `dir/flymed.yaml` (lines after baseConfig), plus extra command-line flags. */
export async function startFromConfig(lines: string[], flags: string[] = []): Promise<{ d: Daemon; dir: string; config: string }> {
  const dir = tempDir();
  const config = writeConfig(dir, [...baseConfig(dir), ...lines]);
  const d = await startDaemon(['--config', config, ...flags], { dir, bare: true });
  return { d, dir, config };
}

const OUTCOME = /"event":"config_reload(ed|_failed)"/g;

/** SIGHUP, then wait for flymed's next config outcome; returns the log lines written since the signal. */
export async function sighup(d: Daemon): Promise<string> {
  const before = d.log().length;
  const seen = (d.log().match(OUTCOME) ?? []).length;
  d.proc.kill('SIGHUP');
  const until = Date.now() + 10_000;
  while ((d.log().match(OUTCOME) ?? []).length === seen) {
    if (Date.now() > until) throw new Error(`no config reload outcome logged:\n${d.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return d.log().slice(before);
}
