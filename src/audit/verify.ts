/**
 * Verification of an audit log set: every line signed by the key, seq strictly consecutive and each
 * `prev` the hash of the line before, across rotated files. Reports the first bad record.
 * What it cannot prove: that the newest records were not cut off, or the whole set replaced by an
 * older copy — compare the last seq/hash with a copy kept elsewhere (docs/audit.md).
 */
import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { GENESIS, checkLine, lineHash } from './record.js';

export interface AuditVerifyResult {
  ok: boolean;
  files: string[];
  records: number;
  firstSeq?: number;
  lastSeq?: number;
  lastHash?: string;
  /** True when the set starts after seq 1 (older files rotated away): the start is not anchored. */
  startsMidChain?: boolean;
  bad?: { file: string; line: number; seq?: number; reason: string };
}

export async function verifyAuditLog(files: readonly string[], publicKey: KeyObject): Promise<AuditVerifyResult> {
  const result: AuditVerifyResult = { ok: true, files: [...files], records: 0 };
  let prevHash: string | undefined;
  let prevSeq: number | undefined;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    if (text.length === 0) continue;
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    else return fail(result, file, lines.length, undefined, 'the last line is incomplete (no newline): a write was cut off or the file was truncated');
    for (let i = 0; i < lines.length; i++) {
      const c = checkLine(lines[i]!, publicKey);
      if (!c.ok) return fail(result, file, i + 1, c.seq, c.reason);
      const { seq, prev } = c.record;
      if (prevSeq === undefined) {
        result.firstSeq = seq;
        if (seq === 1 && prev !== GENESIS) return fail(result, file, i + 1, seq, 'the first record does not start the chain (prev is not the genesis value)');
        if (seq !== 1) result.startsMidChain = true;
      } else {
        if (seq <= prevSeq) return fail(result, file, i + 1, seq, `out of order: seq ${seq} after seq ${prevSeq} (records reordered or replayed)`);
        if (seq !== prevSeq + 1) return fail(result, file, i + 1, seq, `records missing: seq ${seq} follows seq ${prevSeq}`);
        if (prev !== prevHash) return fail(result, file, i + 1, seq, 'prev does not match the hash of the record before (a record was replaced or removed)');
      }
      prevSeq = seq;
      prevHash = lineHash(lines[i]!);
      result.records++;
    }
  }
  if (prevSeq !== undefined) {
    result.lastSeq = prevSeq;
    result.lastHash = prevHash!;
  }
  return result;
}

function fail(r: AuditVerifyResult, file: string, line: number, seq: number | undefined, reason: string): AuditVerifyResult {
  r.ok = false;
  r.bad = { file, line, ...(seq !== undefined ? { seq } : {}), reason };
  return r;
}
