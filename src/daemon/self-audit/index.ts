/**
 * `audit {deep?, fix?}`: flymed audits its own installation. `deep` adds full audit-log chain verification
 * and the daemon certificate's chain check; `fix` applies the safe repairs (mode changes through a
 * descriptor, never through a link: fix.ts) and records each one in the audit log (kind `fix`).
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { SecurityEventSink } from '../../auth/events.js';
import { describePrincipal } from '../../auth/principal.js';
import { auditFileSet } from '../../audit/files.js';
import { loadAuditPublicKey, publicKeyPathFor } from '../../audit/key.js';
import type { AuditLog } from '../../audit/log.js';
import { auditKeyFingerprint } from '../../audit/pin.js';
import { checkLine } from '../../audit/record.js';
import { verifyAuditLog } from '../../audit/verify.js';
import { loadTrustBundle } from '../../identity/trust-bundle.js';
import { parseCertificates } from '../../identity/validate.js';
import { verifyChain } from '../../identity/verify.js';
import type { RpcServer } from '../../rpc/server.js';
import { checkAuditFileMode, checkCertExpiry, checkDirectory, checkPolicyFile, checkPrivateKey, checkPrivilege, checkSocket, type Finding } from './checks.js';
import { FixRefused, applyFix } from './fix.js';

export interface SelfAuditConfig {
  sockets: Array<{ path: string; mode: number }>;
  certsDir?: string;
  policyPath?: string;
  /** Where the kill switch keeps lockdown.json. */
  stateDir?: string;
  audit: AuditLog;
  events: SecurityEventSink;
}

/** The public key file beside the audit key is what `verify` uses by default: it must be the daemon's key. */
async function publicKeyFileFinding(pubPath: string, fingerprint: string): Promise<Finding> {
  const id = `audit-pubkey:${pubPath}`;
  let found: string;
  try {
    found = auditKeyFingerprint(await loadAuditPublicKey(pubPath));
  } catch (e) {
    return { id, severity: 'warning', message: `audit public key ${pubPath} cannot be read (${(e as Error).message}); verify with --fingerprint ${fingerprint}`, fixable: false, fixed: false };
  }
  return found === fingerprint
    ? { id, severity: 'info', message: `audit public key ${pubPath} is the daemon's key (${fingerprint})`, fixable: false, fixed: false }
    : { id, severity: 'critical', message: `audit public key ${pubPath} (${found}) is not the key this daemon signs with (${fingerprint}): it was replaced, and a log re-signed with that other key would verify against it`, fixable: false, fixed: false };
}

async function auditLogFindings(log: AuditLog, deep: boolean): Promise<Finding[]> {
  const { path, keyPath } = log.options;
  const out = [...await checkAuditFileMode(path), ...await checkPrivateKey(keyPath)];
  await log.flush();
  const key = createPublicKey(log.publicKeyPem);
  out.push(await publicKeyFileFinding(publicKeyPathFor(keyPath), log.keyFingerprint));
  if (deep) {
    const r = await verifyAuditLog(auditFileSet(path), key);
    out.push(r.ok
      ? { id: 'audit-chain', severity: 'info', message: `audit log chain verified: ${r.records} records, seq ${r.firstSeq}..${r.lastSeq}${r.startsMidChain ? ' (starts mid-chain: older files rotated away)' : ''}`, fixable: false, fixed: false }
      : { id: 'audit-chain', severity: 'critical', message: `audit log chain broken at ${r.bad!.file}:${r.bad!.line}: ${r.bad!.reason}`, fixable: false, fixed: false });
  } else {
    const text = await readFile(path, 'utf8').catch(() => '');
    const last = text.trimEnd().split('\n').at(-1) ?? '';
    const c = last ? checkLine(last, key) : undefined;
    out.push(!c || c.ok
      ? { id: 'audit-tail', severity: 'info', message: 'the newest audit record verifies (flyme audit --deep verifies the whole chain)', fixable: false, fixed: false }
      : { id: 'audit-tail', severity: 'critical', message: `the newest audit record does not verify: ${c.reason}`, fixable: false, fixed: false });
  }
  return out;
}

async function certFindings(certsDir: string, deep: boolean): Promise<Finding[]> {
  const cert = join(certsDir, 'server.pem');
  const ca = join(certsDir, 'root-ca.pem');
  const out = [...await checkPrivateKey(join(certsDir, 'server.key.pem')), ...await checkCertExpiry(cert), ...await checkCertExpiry(ca)];
  if (deep) {
    try {
      const [leaf, ...intermediates] = parseCertificates(await readFile(cert, 'utf8'));
      const { spiffeId } = await verifyChain(leaf!, intermediates, await loadTrustBundle(ca));
      out.push({ id: 'cert-chain', severity: 'info', message: `${cert} (${spiffeId.toString()}) chains to ${ca}`, fixable: false, fixed: false });
    } catch (e) {
      out.push({ id: 'cert-chain', severity: 'critical', message: `${cert} does not verify against ${ca}: ${(e as Error).message}`, fixable: false, fixed: false });
    }
  }
  return out;
}

/** The directories holding flymed's files, each with what it holds. */
function directories(c: SelfAuditConfig): Map<string, string[]> {
  const dirs = new Map<string, string[]>();
  const add = (dir: string, role: string) => dirs.set(dir, [...(dirs.get(dir) ?? []), role]);
  for (const s of c.sockets) add(dirname(s.path), 'socket directory');
  if (c.certsDir) add(c.certsDir, 'TLS key directory');
  if (c.policyPath) add(dirname(c.policyPath), 'policy directory');
  add(dirname(c.audit.options.path), 'audit log directory');
  add(dirname(c.audit.options.keyPath), 'audit key directory');
  if (c.stateDir) add(c.stateDir, 'kill-switch state directory');
  for (const [dir, roles] of dirs) dirs.set(dir, [...new Set(roles)]);
  return dirs;
}

export async function runSelfAudit(c: SelfAuditConfig, deep: boolean): Promise<Finding[]> {
  const findings: Finding[] = [...checkPrivilege()];
  const dirSafe = new Map<string, boolean>();
  for (const [dir, roles] of directories(c)) {
    // A shared sticky directory (/tmp) is acceptable for a socket alone, not for keys, logs or state.
    const found = await checkDirectory(dir, roles, { sharedStickyOk: roles.length === 1 && roles[0] === 'socket directory' });
    dirSafe.set(dir, found.every((f) => f.severity === 'info'));
    findings.push(...found);
  }
  for (const s of c.sockets) findings.push(...await checkSocket(s.path, s.mode, { dirSafe: dirSafe.get(dirname(s.path)) === true }));
  if (c.certsDir) findings.push(...await certFindings(c.certsDir, deep));
  if (c.policyPath) findings.push(...await checkPolicyFile(c.policyPath));
  findings.push(...await auditLogFindings(c.audit, deep));
  return findings;
}

export function registerSelfAudit(server: RpcServer, config: () => SelfAuditConfig): void {
  server.method({
    name: 'audit',
    permission: 'audit',
    privileged: true,
    params: Type.Object({ deep: Type.Optional(Type.Boolean()), fix: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    handler: async ({ deep, fix }, ctx) => {
      const c = config();
      const findings = await runSelfAudit(c, deep === true);
      if (fix) {
        for (const f of findings) {
          if (!f.fix) continue;
          try {
            await applyFix(f.fix);
            f.fixed = true;
            c.events.emit({
              kind: 'fix', severity: 'warning', source: 'flymed', subject: f.fix.path, decision: 'allow', principal: describePrincipal(ctx.principal),
              message: `self-audit fix: chmod ${f.fix.mode.toString(8).padStart(4, '0')} ${f.fix.path} (${f.message})`, details: { finding: f.id, mode: f.fix.mode.toString(8) },
            });
          } catch (e) {
            f.message += e instanceof FixRefused ? ` (fix refused: ${e.message})` : ` (fix failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
          }
        }
      }
      const open = findings.filter((f) => f.severity !== 'info' && !f.fixed);
      return {
        ok: open.every((f) => f.severity !== 'critical'),
        summary: { critical: open.filter((f) => f.severity === 'critical').length, warning: open.filter((f) => f.severity === 'warning').length, fixed: findings.filter((f) => f.fixed).length },
        findings: findings.map(({ fix: _fix, ...f }) => f),
      };
    },
  });
}
