/** flymed's audit log: opened before listening (refuse to start if it cannot be written), fed by security events. */
import { dirname, join } from 'node:path';
import { defaultAuditKeyPath, defaultAuditLogPath } from '../audit/files.js';
import { AuditLog } from '../audit/log.js';

export interface DaemonAuditOptions {
  /** `--audit-log`; default /var/lib/flyme/audit.log as root (docs/audit.md). */
  path?: string;
  /** `--audit-key`; default audit-key.pem beside an explicit --audit-log, else the default key path. */
  keyPath?: string;
  rotateBytes?: number;
}

export async function openDaemonAudit(o: DaemonAuditOptions): Promise<AuditLog> {
  const path = o.path ?? defaultAuditLogPath();
  const keyPath = o.keyPath ?? (o.path ? join(dirname(o.path), 'audit-key.pem') : defaultAuditKeyPath());
  return AuditLog.open({ path, keyPath, ...(o.rotateBytes ? { rotateBytes: o.rotateBytes } : {}) });
}
