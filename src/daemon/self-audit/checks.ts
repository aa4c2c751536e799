/**
 * Self-audit checks of a FlyMe installation: file modes and owners, certificate expiry, the policy file,
 * the audit log. Each check yields findings; a fixable finding carries the (safe) repair: a chmod.
 */
import { lstat, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseCertificates } from '../../identity/validate.js';

export type Severity = 'info' | 'warning' | 'critical';

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  fixable: boolean;
  fixed: boolean;
  /** Internal: the repair (not sent on the wire). */
  fix?: { path: string; mode: number };
}

const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');
const ok = (id: string, message: string): Finding => ({ id, severity: 'info', message, fixable: false, fixed: false });
const bad = (id: string, severity: Severity, message: string, fix?: { path: string; mode: number }): Finding =>
  ({ id, severity, message, fixable: fix !== undefined, fixed: false, ...(fix ? { fix } : {}) });

async function stat(path: string) {
  return lstat(path).catch(() => undefined);
}

const asRoot = () => process.getuid?.() === 0;

export function checkPrivilege(): Finding[] {
  return [asRoot() ? ok('privilege', 'flymed runs as root')
    : bad('privilege', 'warning', `flymed runs as uid ${process.getuid?.()}, not root: privileged operations (list, audit fixes) are limited to what this user may do`)];
}

/** A Unix socket: no access for others beyond the configured mode; its directory not writable by others. */
export async function checkSocket(path: string, configuredMode: number): Promise<Finding[]> {
  const out: Finding[] = [];
  const s = await stat(path);
  if (!s) return [bad(`socket:${path}`, 'critical', `socket ${path} is missing: clients cannot reach flymed (was it deleted?)`)];
  const mode = s.mode & 0o777;
  if (mode & ~configuredMode & 0o777) out.push(bad(`socket:${path}`, 'critical', `socket ${path} has mode ${octal(mode)}, wider than the expected ${octal(configuredMode)} (flymed --socket-mode)`, { path, mode: configuredMode }));
  else if (mode & 0o006) out.push(bad(`socket:${path}`, 'warning', `socket ${path} is connectable by every local user (mode ${octal(mode)}, as configured): access then relies on the policy alone`));
  else out.push(ok(`socket:${path}`, `socket ${path} mode ${octal(mode)}`));
  if (asRoot() && s.uid !== 0) out.push(bad(`socket-owner:${path}`, 'warning', `socket ${path} is owned by uid ${s.uid}, not root`));
  const dir = dirname(path);
  const d = await stat(dir);
  if (d && d.mode & 0o022 && !(d.mode & 0o1000)) {
    out.push(bad(`socket-dir:${dir}`, 'critical', `directory ${dir} of the socket is writable by ${d.mode & 0o002 ? 'everyone' : 'its group'} (mode ${octal(d.mode)}): the socket could be replaced`, { path: dir, mode: (d.mode & 0o777) & ~0o022 }));
  } else if (d) out.push(ok(`socket-dir:${dir}`, `directory ${dir} mode ${octal(d.mode)}`));
  return out;
}

/** A private key: 0600 (no group/other bits). */
export async function checkPrivateKey(path: string): Promise<Finding[]> {
  const s = await stat(path);
  if (!s) return [bad(`key:${path}`, 'critical', `private key ${path} is missing`)];
  if (s.mode & 0o077) return [bad(`key:${path}`, 'critical', `private key ${path} has mode ${octal(s.mode)}: readable beyond its owner`, { path, mode: 0o600 })];
  if (asRoot() && s.uid !== 0) return [bad(`key:${path}`, 'warning', `private key ${path} is owned by uid ${s.uid}, not root`)];
  return [ok(`key:${path}`, `private key ${path} mode ${octal(s.mode)}`)];
}

/** Certificates in a PEM file: expired → critical, less than 7 days → warning. */
export async function checkCertExpiry(path: string, now = Date.now()): Promise<Finding[]> {
  let certs;
  try {
    certs = parseCertificates(await readFile(path, 'utf8'));
  } catch (e) {
    return [bad(`cert:${path}`, 'critical', `cannot read certificates in ${path}: ${(e as Error).message}`)];
  }
  return certs.map((c, i) => {
    const id = `cert:${path}${certs.length > 1 ? `#${i}` : ''}`;
    const left = c.notAfter.getTime() - now;
    if (left <= 0) return bad(id, 'critical', `${c.subject} in ${path} expired at ${c.notAfter.toISOString()}`);
    if (c.notBefore.getTime() > now) return bad(id, 'critical', `${c.subject} in ${path} is not valid before ${c.notBefore.toISOString()} (clock skew?)`);
    if (left < 7 * 86400_000) return bad(id, 'warning', `${c.subject} in ${path} expires at ${c.notAfter.toISOString()} (in ${Math.ceil(left / 3600_000)} h): renew it`);
    return ok(id, `${c.subject} in ${path} valid until ${c.notAfter.toISOString()}`);
  });
}

/** The policy file: not writable by group/others, owned by root when flymed runs as root. */
export async function checkPolicyFile(path: string): Promise<Finding[]> {
  const s = await stat(path);
  if (!s) return [bad(`policy:${path}`, 'critical', `policy file ${path} is missing: the next reload will fail`)];
  const out: Finding[] = [];
  if (s.mode & 0o022) out.push(bad(`policy:${path}`, 'critical', `policy file ${path} is writable by ${s.mode & 0o002 ? 'everyone' : 'its group'} (mode ${octal(s.mode)}): anyone who can write it can grant themselves roles`, { path, mode: (s.mode & 0o777) & ~0o022 }));
  if (asRoot() && s.uid !== 0) out.push(bad(`policy-owner:${path}`, 'critical', `policy file ${path} is owned by uid ${s.uid}: that user can grant themselves any role; chown root:root`));
  return out.length ? out : [ok(`policy:${path}`, `policy file ${path} mode ${octal(s.mode)}, owner uid ${s.uid}`)];
}

/** The audit log file: not readable by others (records name users and paths). */
export async function checkAuditFileMode(path: string): Promise<Finding[]> {
  const s = await stat(path);
  if (!s) return [bad(`audit-log:${path}`, 'critical', `audit log ${path} is missing`)];
  if (s.mode & 0o026) return [bad(`audit-log:${path}`, 'warning', `audit log ${path} has mode ${octal(s.mode)}: others may read it or its group may write it`, { path, mode: 0o640 })];
  return [ok(`audit-log:${path}`, `audit log ${path} mode ${octal(s.mode)}`)];
}
