/** The rotated set of an audit log: `audit.log.N` (oldest) … `audit.log.1`, `audit.log` (newest). */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { homedir } from 'node:os';

/** Default directory: /var/lib/flyme as root, $XDG_STATE_HOME/flyme or ~/.local/state/flyme otherwise. */
export function defaultAuditDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/flyme';
  return join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'flyme');
}
export const defaultAuditLogPath = (): string => join(defaultAuditDir(), 'audit.log');
export const defaultAuditKeyPath = (): string => join(defaultAuditDir(), 'audit-key.pem');

/** Existing files of the set, oldest first. */
export function auditFileSet(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)$`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names.map((n) => re.exec(n)).filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ n: Number(m[1]), file: join(dir, m[0]) })).sort((a, b) => b.n - a.n).map((x) => x.file);
  return existsSync(path) ? [...rotated, path] : rotated;
}
