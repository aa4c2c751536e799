/**
 * Security events: the one hook every FlyMe component (daemon, gRPC interceptors, Redis subscriber)
 * reports denials, handshake failures, rejected messages and other security-relevant happenings to.
 * The daemon turns them into alerts and signed audit records; a library user can log or count them.
 * Components depend on this interface only, never on the daemon.
 */

/** What happened. Stable strings: they appear in alerts, audit records and `flyme alerts`. */
export type SecurityEventKind =
  | 'denied' // a call refused for lack of a permission/role
  | 'unauthenticated' // a call or connection without valid credentials
  | 'connection_refused' // refused by a limit (too many connections, shutting down)
  | 'handshake_failed' // TLS handshake refused (no cert, wrong CA, expired, ID not allowed, ...)
  | 'token_refused' // a token failed verification
  | 'message_rejected' // a pub/sub message failed verification
  | 'burst' // many failures from one principal in a short window
  | 'policy_reloaded'
  | 'policy_reload_failed'
  | 'config_reloaded' // flymed --config re-read on SIGHUP (details: applied, restartNeeded)
  | 'config_reload_failed' // the re-read config file was invalid: refused as a whole, the running settings kept
  | 'config_restart_needed' // the re-read config file changes settings that apply only at the next start
  | 'cert_expiring'
  | 'kill'
  | 'unlock'
  | 'privileged_call' // an allowed call of a privileged method
  | 'fix' // a self-audit repair
  | 'daemon_started'
  | 'daemon_stopped'
  | 'audit_dropped' // audit records lost because the disk did not keep up
  | 'peer_invalidated' // a live connection closed: its peer's certificate expired, was revoked or lost its root
  | 'svid_issued' // the CA signed an SVID (agent or workload)
  | 'svid_refused' // the CA refused to sign (no entry, not the entry's agent, bad CSR, bad join token)
  | 'entry_changed' // a registration entry was created or deleted
  | 'join_token_created'
  | 'ca_rotated' // the CA started signing with a new intermediate
  | 'registration_changed' // the service registry added, removed or expired a record
  | 'registration_refused'; // the service registry refused a register/renew/deregister (not the owner, bad input, full)

export type SecuritySeverity = 'info' | 'warning' | 'critical';

export interface SecurityEvent {
  kind: SecurityEventKind;
  severity: SecuritySeverity;
  /** Component that saw it: 'flymed', 'grpc', 'redis', ... */
  source: string;
  /** Human-readable, one line, never a secret or a token. */
  message: string;
  /** JSON view of who (see describePrincipal), or the fields known before a principal exists. */
  principal?: Record<string, unknown>;
  /** Method, gRPC path or channel concerned. */
  subject?: string;
  decision?: 'allow' | 'deny';
  /** Machine-readable reason (a FLYME_* code or a short word such as 'expired'). */
  reason?: string;
  /** Extra JSON-safe fields. Never secrets. */
  details?: Record<string, unknown>;
  /** ISO-8601; filled by the sink when absent. */
  time?: string;
}

/** Receives security events. Must not throw and must not block: queue or drop. */
export interface SecurityEventSink {
  emit(event: SecurityEvent): void;
}

/** A sink that ignores everything (the default where no hook is configured). */
export const ignoreSecurityEvents: SecurityEventSink = { emit() {} };

/** Fan one event out to several sinks; a throwing sink does not stop the others. */
export function fanOutSecurityEvents(...sinks: SecurityEventSink[]): SecurityEventSink {
  return {
    emit(event) {
      for (const s of sinks) {
        try {
          s.emit(event);
        } catch {
          // a sink must not break the caller; it is its own job to report its failures
        }
      }
    },
  };
}

/**
 * Bounds how many events of `kinds` reach `sink` (an audit log, say) per second: an anonymous flood of
 * refused connections must not push the log's history out through rotation. Beyond `perSecond` in a second,
 * events are counted and one summary event per kind (same kind, `details.suppressed`) follows when the
 * second ends. Other kinds pass untouched.
 */
export function limitSecurityEvents(sink: SecurityEventSink, kinds: readonly SecurityEventKind[], perSecond = 20): SecurityEventSink {
  const limited = new Set(kinds);
  const counts = new Map<SecurityEventKind, { passed: number; suppressed: number; last?: SecurityEvent }>();
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    for (const [kind, c] of counts) {
      if (c.suppressed > 0 && c.last) {
        sink.emit({
          kind, severity: c.last.severity, source: c.last.source, decision: 'deny',
          message: `${c.suppressed} more ${kind} events in the last second were not recorded one by one (last: ${c.last.message})`,
          details: { suppressed: c.suppressed },
        });
      }
    }
    counts.clear();
  };
  return {
    emit(event) {
      if (!limited.has(event.kind)) { sink.emit(event); return; }
      let c = counts.get(event.kind);
      if (!c) counts.set(event.kind, (c = { passed: 0, suppressed: 0 }));
      if (!timer) { timer = setTimeout(flush, 1000); timer.unref(); }
      if (c.passed < perSecond) { c.passed++; sink.emit(event); return; }
      c.suppressed++;
      c.last = event;
    },
  };
}
