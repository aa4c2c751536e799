/**
 * AlertCenter: turns security events into alerts — a bounded ring of recent alerts, counts by kind and
 * severity, burst detection per principal, and live subscribers with bounded queues. A subscriber that
 * does not read is dropped (with a final `alert` of kind `subscriber_dropped`) rather than making the
 * daemon buffer without limit.
 */
import type { SecurityEvent, SecurityEventSink } from '../auth/events.js';
import { identityKey } from '../auth/coalesce-events.js';

export interface Alert {
  id: number;
  time: string;
  kind: string;
  severity: string;
  source: string;
  message: string;
  principal?: Record<string, unknown>;
  subject?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** Events that are audit records but not alerts. */
const NOT_ALERTS = new Set(['privileged_call', 'daemon_started', 'daemon_stopped', 'policy_reloaded', 'config_reloaded']);
/** Failures counted for burst detection. */
const FAILURES = new Set(['denied', 'unauthenticated', 'handshake_failed', 'token_refused', 'message_rejected']);

export interface AlertCenterOptions {
  /** Recent alerts kept (default 1000). */
  capacity?: number;
  /** Burst: this many failures (default 5) … */
  burstCount?: number;
  /** … from one principal within this window (default 10 s) raise one `burst` alert per window. */
  burstWindowMs?: number;
  /** Principals tracked for bursts at most (default 10 000; the oldest is forgotten first). */
  maxTracked?: number;
  /** A subscriber with more than this many bytes not yet read is dropped (default 256 KiB). */
  maxSubscriberBacklogBytes?: number;
  now?: () => number;
}

export interface Subscriber {
  topics?: ReadonlySet<string>;
  /** Send one notification; false when the connection is gone. */
  send(method: string, params: unknown): boolean;
  /** Bytes queued to this subscriber and not yet read by it. */
  backlog(): number;
  /** Close the subscriber's connection (after the final notification). */
  drop(): void;
}

export class AlertCenter implements SecurityEventSink {
  readonly #ring: Alert[] = [];
  #nextId = 1;
  readonly counts = { total: 0, bySeverity: {} as Record<string, number>, byKind: {} as Record<string, number> };
  readonly #failures = new Map<string, { windowStart: number; count: number; lastBurst: number }>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #capacity: number;
  readonly #burstCount: number;
  readonly #burstWindowMs: number;
  readonly #maxTracked: number;
  readonly #maxBacklog: number;
  readonly #now: () => number;
  dropped = 0;

  constructor(o: AlertCenterOptions = {}) {
    this.#capacity = o.capacity ?? 1000;
    this.#burstCount = o.burstCount ?? 5;
    this.#burstWindowMs = o.burstWindowMs ?? 10_000;
    this.#maxTracked = o.maxTracked ?? 10_000;
    this.#maxBacklog = o.maxSubscriberBacklogBytes ?? 256 * 1024;
    this.#now = o.now ?? Date.now;
  }

  emit(event: SecurityEvent): void {
    if (NOT_ALERTS.has(event.kind)) return;
    this.#raise(event);
    if (FAILURES.has(event.kind)) this.#countFailure(event);
  }

  /** Newest first. */
  recent(limit = 100): Alert[] {
    return this.#ring.slice(-limit).reverse();
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  subscribe(s: Subscriber): () => void {
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  /** In-process observers of every alert raised (metrics): not subscribers, never dropped or counted as such. */
  readonly #observers = new Set<(alert: Alert) => void>();

  observe(fn: (alert: Alert) => void): () => void {
    this.#observers.add(fn);
    return () => this.#observers.delete(fn);
  }

  #raise(event: SecurityEvent): Alert {
    const alert: Alert = {
      id: this.#nextId++,
      time: event.time ?? new Date(this.#now()).toISOString(),
      kind: event.kind,
      severity: event.severity,
      source: event.source,
      message: event.message,
      ...(event.principal ? { principal: event.principal } : {}),
      ...(event.subject !== undefined ? { subject: event.subject } : {}),
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
      ...(event.details ? { details: event.details } : {}),
    };
    this.#ring.push(alert);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
    this.counts.total++;
    this.counts.bySeverity[alert.severity] = (this.counts.bySeverity[alert.severity] ?? 0) + 1;
    this.counts.byKind[alert.kind] = (this.counts.byKind[alert.kind] ?? 0) + 1;
    for (const fn of this.#observers) {
      try {
        fn(alert);
      } catch {
        // an observer (a counter) must never stop an alert
      }
    }
    for (const s of this.#subscribers) this.#deliver(s, alert);
    return alert;
  }

  #deliver(s: Subscriber, alert: Alert): void {
    if (s.topics && s.topics.size > 0 && !s.topics.has(alert.kind)) return;
    if (s.backlog() > this.#maxBacklog) {
      this.#subscribers.delete(s);
      this.dropped++;
      s.send('alert', { id: 0, time: new Date(this.#now()).toISOString(), kind: 'subscriber_dropped', severity: 'warning', source: 'flymed',
        message: `this subscriber fell more than ${this.#maxBacklog} bytes behind and is disconnected; resubscribe and read faster` });
      s.drop();
      return;
    }
    if (!s.send('alert', alert)) this.#subscribers.delete(s);
  }

  #countFailure(event: SecurityEvent): void {
    const key = identityKey(event.principal);
    if (!key) return;
    const now = this.#now();
    let entry = this.#failures.get(key);
    if (entry) this.#failures.delete(key); // re-insert: the Map's order is least recently failed first
    entry ??= { windowStart: now, count: 0, lastBurst: -Infinity };
    this.#failures.set(key, entry);
    if (this.#failures.size > this.#maxTracked) this.#failures.delete(this.#failures.keys().next().value!);
    if (now - entry.windowStart >= this.#burstWindowMs) {
      entry.windowStart = now;
      entry.count = 0;
    }
    // A coalesced summary stands for details.count failures (see auth/coalesce-events.ts).
    const n = event.details?.coalesced === true && typeof event.details.count === 'number' ? event.details.count : 1;
    entry.count += n;
    if (entry.count >= this.#burstCount && now - entry.lastBurst >= this.#burstWindowMs) {
      entry.lastBurst = now;
      this.#raise({
        kind: 'burst', severity: 'critical', source: 'flymed',
        message: `${entry.count} failures from ${key} within ${this.#burstWindowMs / 1000} s (latest: ${event.kind}${event.subject ? ` ${event.subject}` : ''})`,
        ...(event.principal ? { principal: event.principal } : {}),
        details: { who: key, failures: entry.count, windowMs: this.#burstWindowMs },
      });
    }
  }
}
