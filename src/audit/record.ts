/**
 * Audit records and their canonical bytes. One record per line:
 *   {"v":1,"seq":N,"time":…,"kind":…,…,"prev":"<hex sha256 of the previous line>","sig":"<base64url>"}
 * The signed bytes are the line with its final `,"sig":"…"` member removed (so `…,"prev":"…"}`), and
 * `prev` is the SHA-256 of the previous record's whole line (without its newline). A third party can
 * verify with any Ed25519 implementation and the exported public key; nothing depends on key order
 * rules or re-serialisation.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { SecurityEvent } from '../auth/events.js';

export const GENESIS = '0'.repeat(64);
const SIG_TAIL = /,"sig":"([A-Za-z0-9_-]{86})"\}$/;

export interface AuditRecord {
  v: 1;
  seq: number;
  time: string;
  kind: string;
  severity: string;
  source: string;
  message: string;
  principal?: Record<string, unknown>;
  subject?: string;
  decision?: string;
  reason?: string;
  details?: Record<string, unknown>;
  prev: string;
}

/** The record for an event, in the fixed field order. */
export function recordFor(event: SecurityEvent, seq: number, prev: string, now = new Date()): AuditRecord {
  return {
    v: 1,
    seq,
    time: event.time ?? now.toISOString(),
    kind: event.kind,
    severity: event.severity,
    source: event.source,
    message: event.message,
    ...(event.principal ? { principal: event.principal } : {}),
    ...(event.subject !== undefined ? { subject: event.subject } : {}),
    ...(event.decision ? { decision: event.decision } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.details ? { details: event.details } : {}),
    prev,
  };
}

/** Serialise and sign: the full line (no newline). */
export function signRecord(record: AuditRecord, key: KeyObject): string {
  const body = JSON.stringify(record);
  const sig = sign(null, Buffer.from(body), key).toString('base64url');
  return `${body.slice(0, -1)},"sig":"${sig}"}`;
}

export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

export type LineCheck =
  | { ok: true; record: AuditRecord }
  | { ok: false; reason: string; seq?: number };

/** Parse one line and check its signature. */
export function checkLine(line: string, publicKey: KeyObject): LineCheck {
  const m = SIG_TAIL.exec(line);
  if (!m) return { ok: false, reason: 'no signature (the line does not end with a "sig" member)' };
  const body = `${line.slice(0, m.index)}}`;
  let record: AuditRecord;
  try {
    record = JSON.parse(body) as AuditRecord;
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (record === null || typeof record !== 'object' || record.v !== 1 || !Number.isSafeInteger(record.seq) || typeof record.prev !== 'string') {
    return { ok: false, reason: 'not an audit record (v, seq or prev missing)' };
  }
  if (!verify(null, Buffer.from(body), publicKey, Buffer.from(m[1]!, 'base64url'))) {
    return { ok: false, reason: 'bad signature (the record was edited or signed by another key)', seq: record.seq };
  }
  return { ok: true, record };
}
