/**
 * Per-principal coalescing of security events: the first event of each (kind, who, subject, reason) in a
 * window passes through as it is; the rest of the window is counted and one summary event carrying the count
 * (`details.count`, `details.coalesced: true`) follows when the window ends. However fast an unprivileged peer
 * fails (5 000 refused tokens a second, say), the audit log and the alert ring grow by two records per window
 * and key, with the full count kept.
 *
 * Keys are bounded (`maxKeys`): past that, further events of a kind share one overflow key per window, so an
 * attacker varying channel names or addresses cannot make the table itself grow.
 */
import type { SecurityEvent, SecurityEventKind, SecurityEventSink } from './events.js';

/** Failures and refusals anyone can cause; everything else (privileged calls, kills, reloads) passes untouched. */
export const COALESCED_KINDS: readonly SecurityEventKind[] = [
  'denied', 'unauthenticated', 'connection_refused', 'handshake_failed', 'token_refused', 'message_rejected', 'svid_refused',
];

export interface CoalesceOptions {
  /** Window length (default 1000 ms). */
  windowMs?: number;
  /** Events of one key passed one by one per window before counting starts (default 1). */
  passPerKey?: number;
  /** Distinct keys tracked per window (default 1024); the rest share an overflow key per kind. */
  maxKeys?: number;
  kinds?: readonly SecurityEventKind[];
}

interface Bucket { passed: number; suppressed: number; first: SecurityEvent; last?: SecurityEvent }

/** `spiffe:ID` or `uid:N` for an event's principal (certificate first), or undefined when it names no identity. */
export function identityKey(p: Record<string, unknown> | undefined): string | undefined {
  const cert = p?.cert as { spiffeId?: unknown } | undefined;
  if (typeof cert?.spiffeId === 'string') return `spiffe:${cert.spiffeId}`;
  const peer = p?.peer as { uid?: unknown } | undefined;
  if (typeof peer?.uid === 'number') return `uid:${peer.uid}`;
  return undefined;
}

/** {@link identityKey}, else `token:iss/sub`, else the transport (anonymous peers of a listener share one key). */
export function eventPrincipalKey(p: Record<string, unknown> | undefined): string {
  const id = identityKey(p);
  if (id) return id;
  const token = p?.token as { iss?: unknown; sub?: unknown } | undefined;
  if (typeof token?.sub === 'string') return `token:${String(token.iss)}/${token.sub}`;
  return `anonymous:${typeof p?.transport === 'string' ? p.transport : '?'}`;
}

export function coalesceSecurityEvents(sink: SecurityEventSink, o: CoalesceOptions = {}): SecurityEventSink & { flush(): void } {
  const windowMs = o.windowMs ?? 1000;
  const passPerKey = o.passPerKey ?? 1;
  const maxKeys = o.maxKeys ?? 1024;
  const kinds = new Set(o.kinds ?? COALESCED_KINDS);
  let buckets = new Map<string, Bucket>();
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const done = buckets;
    buckets = new Map();
    for (const b of done.values()) {
      if (b.suppressed === 0 || !b.last) continue;
      const e = b.last;
      sink.emit({
        kind: e.kind, severity: e.severity, source: e.source,
        message: `${b.suppressed} more ${e.kind} events like this one within ${windowMs} ms, coalesced (last: ${e.message})`,
        ...(b.first.principal ? { principal: b.first.principal } : {}),
        ...(e.subject !== undefined ? { subject: e.subject } : {}),
        ...(e.decision ? { decision: e.decision } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        details: { count: b.suppressed, coalesced: true, windowMs },
      });
    }
  };

  return {
    emit(event) {
      if (!kinds.has(event.kind)) { sink.emit(event); return; }
      let key = `${event.kind}|${eventPrincipalKey(event.principal)}|${event.subject ?? ''}|${event.reason ?? ''}`;
      let b = buckets.get(key);
      if (!b && buckets.size >= maxKeys) {
        key = `${event.kind}|overflow`;
        b = buckets.get(key);
      }
      if (!b) buckets.set(key, (b = { passed: 0, suppressed: 0, first: event }));
      if (!timer) { timer = setTimeout(flush, windowMs); timer.unref(); }
      if (b.passed < passPerKey) { b.passed++; sink.emit(event); return; }
      b.suppressed++;
      b.last = event;
    },
    flush,
  };
}
