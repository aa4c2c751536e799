/** Signed, hash-chained audit log (curated public surface, listed in docs/api.md). */
export { AuditLog, type AuditLogOptions, type AuditLogState } from './log.js';
export { verifyAuditLog, type AuditVerifyResult } from './verify.js';
export { loadOrCreateAuditKey, loadAuditPublicKey, publicKeyPathFor, type AuditKey } from './key.js';
export { auditFileSet, defaultAuditDir, defaultAuditLogPath, defaultAuditKeyPath } from './files.js';
export type { AuditRecord } from './record.js';
export { auditKeyFingerprint, parseFingerprint, resolveAuditKey, type AuditKeyPin, type ResolvedAuditKey } from './pin.js';
