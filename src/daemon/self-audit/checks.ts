/**
 * Self-audit checks of a FlyMe installation: file modes and owners, directories, certificate expiry, the
 * policy file, the audit log. Each check yields findings; a fixable finding carries its (safe) repair: a mode
 * change of the very inode that was checked (see fix.ts). Symbolic links are never followed by a fix: a link
 * where a file or directory is expected is a finding of its own, and what it points at is reported but not
 * changed.
 */
import { lstat, readFile, readlink, stat as statFollow } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { parseCertificates } from '../../identity/validate.js';

export type Severity = 'info' | 'warning' | 'critical';

/** A repair: set `mode` on the inode `dev`/`ino` at `path`, which must still be a `kind` and not a link. */
export interface FixPlan { path: string; mode: number; kind: 'file' | 'dir' | 'socket'; dev: number; ino: number }

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  fixable: boolean;
  fixed: boolean;
  /** Internal: the repair (not sent on the wire). */
  fix?: FixPlan;
}

const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');
const ok = (id: string, message: string): Finding => ({ id, severity: 'info', message, fixable: false, fixed: false });
const bad = (id: string, severity: Severity, message: string, fix?: FixPlan): Finding =>
  ({ id, severity, message, fixable: fix !== undefined, fixed: false, ...(fix ? { fix } : {}) });
const plan = (path: string, s: Stats, mode: number): FixPlan =>
  ({ path, mode, kind: s.isDirectory() ? 'dir' : s.isSocket() ? 'socket' : 'file', dev: s.dev, ino: s.ino });

async function stat(path: string) {
  return lstat(path).catch(() => undefined);
}

const asRoot = () => process.getuid?.() === 0;
const daemonUid = () => process.getuid?.() ?? 0;

/**
 * `path` is a symbolic link: one warning for the link, then `check` runs on what it points at with every fix
 * removed (a fix through a link would change a file elsewhere) and each message saying so.
 */
async function throughLink(path: string, what: string, check: (s: Stats) => Finding[]): Promise<Finding[]> {
  const target = await readlink(path).catch(() => '?');
  const out = [bad(`link:${path}`, 'warning', `${what} ${path} is a symbolic link to ${target}: the self-audit does not follow links when fixing, and the protection of ${what} then depends on ${target} and its directory; replace the link with the file itself`)];
  const s = await statFollow(path).catch(() => undefined);
  if (!s) return [...out, bad(`link-target:${path}`, 'critical', `${what} ${path} links to ${target}, which does not exist`)];
  for (const f of check(s)) {
    if (f.severity === 'info') continue;
    const { fix: _fix, ...rest } = f;
    out.push({ ...rest, fixable: false, message: `${f.message} (through the link ${path} → ${target}: not fixed automatically; fix the target by hand)` });
  }
  return out;
}

export function checkPrivilege(): Finding[] {
  return [asRoot() ? ok('privilege', 'flymed runs as root')
    : bad('privilege', 'warning', `flymed runs as uid ${process.getuid?.()}, not root: privileged operations (list, audit fixes) are limited to what this user may do`)];
}

/**
 * A directory that holds flymed's files (socket, keys, policy, audit log, state): a real directory, owned by
 * root or the daemon's uid, not writable by group/others. `sharedStickyOk` (the socket's directory): a
 * sticky world-writable directory such as /tmp is accepted, others cannot replace what flymed created
 * there. A loose mode is fixed (g-w,o-w) unless the directory is sticky: /tmp is never re-moded.
 */
export async function checkDirectory(path: string, roles: readonly string[], opts: { trustedUids?: readonly number[]; sharedStickyOk?: boolean } = {}): Promise<Finding[]> {
  const what = `directory ${path} (${roles.join(', ')})`;
  const id = `dir:${path}`;
  const trusted = new Set([0, ...(opts.trustedUids ?? [daemonUid()])]);
  const check = (d: Stats, fixable: boolean): Finding[] => {
    if (!d.isDirectory()) return [bad(id, 'critical', `${what} is not a directory`)];
    const out: Finding[] = [];
    if (!trusted.has(d.uid)) {
      out.push(bad(`dir-owner:${path}`, 'critical', `${what} is owned by uid ${d.uid}, not root${daemonUid() !== 0 ? ` or the daemon's uid ${daemonUid()}` : ''}: that user can replace the files in it; chown root ${path}`));
    }
    const writable = d.mode & 0o022;
    const sticky = (d.mode & 0o1000) !== 0;
    if (writable && sticky && opts.sharedStickyOk) out.push(ok(id, `${what} mode ${octal(d.mode)}: shared but sticky (others cannot replace files they do not own)`));
    else if (writable && sticky) out.push(bad(id, 'critical', `${what} is a shared sticky directory (mode ${octal(d.mode)}): others may create files there before flymed does (a lock, state or key file); move these files to a private directory`));
    else if (writable) out.push(bad(id, 'critical', `${what} is writable by ${d.mode & 0o002 ? 'everyone' : 'its group'} (mode ${octal(d.mode)}): files in it could be replaced`, fixable ? plan(path, d, (d.mode & 0o777) & ~0o022) : undefined));
    if (out.length === 0) out.push(ok(id, `${what} mode ${octal(d.mode)}, owner uid ${d.uid}`));
    return out;
  };
  const d = await stat(path);
  if (!d) return [bad(id, 'warning', `${what} does not exist`)];
  if (d.isSymbolicLink()) return throughLink(path, what, (t) => check(t, false));
  return check(d, true);
}

/**
 * A Unix socket: no access for others beyond the configured mode. Its directory is checked with
 * {@link checkDirectory} (here, unless the caller checked it and says whether it is safe with `dirSafe`);
 * the socket's mode is fixed only when that directory is safe: nobody else could swap the socket between the
 * check and the fix (a socket cannot be opened and changed through a descriptor).
 */
export async function checkSocket(path: string, configuredMode: number, opts: { trustedUids?: readonly number[]; dirSafe?: boolean } = {}): Promise<Finding[]> {
  const out: Finding[] = [];
  const dir = dirname(path);
  const dirFindings = opts.dirSafe === undefined ? await checkDirectory(dir, ['socket directory'], { ...opts, sharedStickyOk: true }) : [];
  const dirSafe = opts.dirSafe ?? dirFindings.every((f) => f.severity === 'info');
  const s = await stat(path);
  if (!s) out.push(bad(`socket:${path}`, 'critical', `socket ${path} is missing: clients cannot reach flymed (was it deleted?)`));
  else if (s.isSymbolicLink()) out.push(bad(`link:${path}`, 'critical', `socket ${path} is a symbolic link to ${await readlink(path).catch(() => '?')}, not flymed's socket: clients may be talking to someone else; remove it and restart flymed`));
  else if (!s.isSocket()) out.push(bad(`socket:${path}`, 'critical', `${path} is not a socket: clients cannot reach flymed there`));
  else {
    const mode = s.mode & 0o777;
    if (mode & ~configuredMode & 0o777) {
      const why = dirSafe ? '' : ` (not fixed automatically while its directory ${dir} is not safe: fix that first, then run --fix again)`;
      out.push(bad(`socket:${path}`, 'critical', `socket ${path} has mode ${octal(mode)}, wider than the expected ${octal(configuredMode)} (flymed --socket-mode)${why}`, dirSafe ? plan(path, s, configuredMode) : undefined));
    } else if (mode & 0o006) out.push(bad(`socket:${path}`, 'warning', `socket ${path} is connectable by every local user (mode ${octal(mode)}, as configured): access then relies on the policy alone`));
    else out.push(ok(`socket:${path}`, `socket ${path} mode ${octal(mode)}`));
    if (asRoot() && s.uid !== 0) out.push(bad(`socket-owner:${path}`, 'warning', `socket ${path} is owned by uid ${s.uid}, not root`));
  }
  return [...out, ...dirFindings];
}

/** A private key: a regular file, 0600 (no group/other bits). */
export async function checkPrivateKey(path: string): Promise<Finding[]> {
  const id = `key:${path}`;
  const check = (s: Stats, fixable: boolean): Finding[] => {
    if (!s.isFile()) return [bad(id, 'critical', `private key ${path} is not a regular file`)];
    if (s.mode & 0o077) return [bad(id, 'critical', `private key ${path} has mode ${octal(s.mode)}: readable beyond its owner`, fixable ? plan(path, s, 0o600) : undefined)];
    if (asRoot() && s.uid !== 0) return [bad(id, 'warning', `private key ${path} is owned by uid ${s.uid}, not root`)];
    return [ok(id, `private key ${path} mode ${octal(s.mode)}`)];
  };
  const s = await stat(path);
  if (!s) return [bad(id, 'critical', `private key ${path} is missing`)];
  if (s.isSymbolicLink()) return throughLink(path, 'private key', (t) => check(t, false));
  return check(s, true);
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

/** The policy file: a regular file, not writable by group/others, owned by root when flymed runs as root. */
export async function checkPolicyFile(path: string): Promise<Finding[]> {
  const check = (s: Stats, fixable: boolean): Finding[] => {
    if (!s.isFile()) return [bad(`policy:${path}`, 'critical', `policy file ${path} is not a regular file`)];
    const out: Finding[] = [];
    if (s.mode & 0o022) out.push(bad(`policy:${path}`, 'critical', `policy file ${path} is writable by ${s.mode & 0o002 ? 'everyone' : 'its group'} (mode ${octal(s.mode)}): anyone who can write it can grant themselves roles`, fixable ? plan(path, s, (s.mode & 0o777) & ~0o022) : undefined));
    if (asRoot() && s.uid !== 0) out.push(bad(`policy-owner:${path}`, 'critical', `policy file ${path} is owned by uid ${s.uid}: that user can grant themselves any role; chown root:root`));
    return out.length ? out : [ok(`policy:${path}`, `policy file ${path} mode ${octal(s.mode)}, owner uid ${s.uid}`)];
  };
  const s = await stat(path);
  if (!s) return [bad(`policy:${path}`, 'critical', `policy file ${path} is missing: the next reload will fail`)];
  if (s.isSymbolicLink()) return throughLink(path, 'policy file', (t) => check(t, false));
  return check(s, true);
}

/** The audit log file: a regular file, not readable by others (records name users and paths). */
export async function checkAuditFileMode(path: string): Promise<Finding[]> {
  const id = `audit-log:${path}`;
  const check = (s: Stats, fixable: boolean): Finding[] => {
    if (!s.isFile()) return [bad(id, 'critical', `audit log ${path} is not a regular file`)];
    if (s.mode & 0o026) return [bad(id, 'warning', `audit log ${path} has mode ${octal(s.mode)}: others may read it or its group may write it`, fixable ? plan(path, s, 0o640) : undefined)];
    return [ok(id, `audit log ${path} mode ${octal(s.mode)}`)];
  };
  const s = await stat(path);
  if (!s) return [bad(id, 'critical', `audit log ${path} is missing`)];
  if (s.isSymbolicLink()) return throughLink(path, 'audit log', (t) => check(t, false));
  return check(s, true);
}
