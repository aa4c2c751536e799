/** Signed, hash-chained audit log (re-exports only). */
export { AuditLog, type AuditLogOptions, type AuditLogState } from './log.js';
export { verifyAuditLog, type AuditVerifyResult } from './verify.js';
export { loadOrCreateAuditKey, loadAuditPublicKey, publicKeyPathFor, type AuditKey } from './key.js';
export { auditFileSet, defaultAuditDir, defaultAuditLogPath, defaultAuditKeyPath } from './files.js';
export { checkLine, lineHash, GENESIS, type AuditRecord } from './record.js';
export { auditKeyFingerprint, parseFingerprint, resolveAuditKey, type AuditKeyPin, type ResolvedAuditKey } from './pin.js';
