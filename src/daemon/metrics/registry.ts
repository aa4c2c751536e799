/**
 * flymed's Prometheus metrics (prom-client) on a private Registry: one per daemon, never the global default.
 * Events are counted where they happen through cheap hooks — the RPC server's observer (calls, accepted and
 * refused connections), a tap on the security-event stream before coalescing (denials, token refusals), a
 * counting alert subscriber — and state is read at scrape time (open connections, audit queue and drops,
 * certificate expiry). Every hook increments a counter child resolved once per label set.
 *
 * Label values are bounded by construction: method names only from the registered method table ("unknown"
 * for anything else), outcomes and reasons only from the error catalog or a fixed list. Never a uid, a SPIFFE
 * ID, a token subject or any string a peer chooses: each distinct value is a new time series kept in memory
 * for the daemon's life (and in Prometheus), so a peer able to choose one could exhaust both.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { isFlyMeErrorCode, type FlyMeError } from '../../errors.js';
import type { SecurityEvent, SecurityEventSink } from '../../auth/events.js';
import type { Address } from '../../transport/address.js';
import type { RpcObserver, RpcServer } from '../../rpc/server.js';
import type { AuditLog } from '../../audit/index.js';
import type { AlertCenter } from '../alerts.js';
import { VERSION } from '../../version.js';
import { serveMetrics, type MetricsAddress, type MetricsEndpoint } from './http.js';

/** The listener scheme of an address: `unix`, `unix+tls`, `tcp` or `tls` (abstract sockets are `unix`). */
export function schemeOf(a: Pick<Address, 'kind' | 'tls'>): string {
  return a.kind === 'tcp' ? (a.tls ? 'tls' : 'tcp') : a.tls ? 'unix+tls' : 'unix';
}

/** TLS refusal reasons (identity/tls/refusal.ts `TlsRefusalReason`); anything else counts as `handshake`. */
const TLS_REASONS = new Set(['no-certificate', 'unknown-ca', 'expired', 'revoked', 'id-not-authorized', 'tls-version', 'timeout', 'invalid-certificate', 'handshake']);

/** A catalog code, or `other` for anything else (never a free-form string). */
const code = (v: unknown): string => (isFlyMeErrorCode(v) ? v : 'other');

interface Inc { inc(n?: number): void }

/** counter.labels(...) resolved once per label set. */
function children(counter: Counter<string>): (...values: string[]) => Inc {
  const cache = new Map<string, Inc>();
  return (...values) => {
    const key = values.join('\0');
    let c = cache.get(key);
    if (!c) cache.set(key, (c = counter.labels(...values)));
    return c;
  };
}

/** What is read at scrape time; given once the daemon is set up. */
export interface MetricsSources {
  server: RpcServer;
  alerts: AlertCenter;
  audit: AuditLog;
  /** The daemon's certificate expiry, when it has a TLS listener. */
  certificateNotAfter?: () => Date;
}

export interface DaemonMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag, GC) through collectDefaultMetrics (default true). */
  processMetrics?: boolean;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #calls: (method: string, outcome: string) => Inc;
  readonly #accepted: (scheme: string) => Inc;
  readonly #refused: (scheme: string, reason: string) => Inc;
  readonly #tlsRefusals: (reason: string) => Inc;
  readonly #denials: (reason: string) => Inc;
  readonly #tokenRefusals: (code: string) => Inc;
  readonly #alerts: (kind: string, severity: string) => Inc;
  #sources: MetricsSources | undefined;
  #unsubscribeAlerts: (() => void) | undefined;
  #endpoint: MetricsEndpoint | undefined;

  constructor(o: DaemonMetricsOptions = {}) {
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[]) => children(new Counter({ name, help, labelNames, registers }));
    this.#calls = counter('flyme_calls_total', 'Requests and notifications settled, by method (registered names only; "unknown" for any other) and outcome ("ok" or the error code answered).', ['method', 'outcome']);
    this.#accepted = counter('flyme_connections_accepted_total', 'Connections accepted and served, by listener scheme.', ['scheme']);
    this.#refused = counter('flyme_connections_refused_total', 'Connections refused before being served, by listener scheme and reason (error code).', ['scheme', 'reason']);
    this.#tlsRefusals = counter('flyme_tls_refusals_total', 'TLS connections refused during the handshake or certificate check, by reason.', ['reason']);
    this.#denials = counter('flyme_denials_total', 'Calls denied by policy or the kill switch, by reason (error code).', ['reason']);
    this.#tokenRefusals = counter('flyme_token_refusals_total', 'Tokens refused by the authenticate method, by error code.', ['code']);
    this.#alerts = counter('flyme_alerts_total', 'Alerts raised, by kind and severity.', ['kind', 'severity']);
    const self = this;
    new Gauge({
      name: 'flyme_connections_open', help: 'Connections being served, by listener scheme.', labelNames: ['scheme'], registers,
      collect() {
        this.reset();
        const server = self.#sources?.server;
        if (!server) return;
        const open = new Map<string, number>();
        for (const url of server.listenerAddresses) open.set(schemeOf(schemeAddress(url)), 0);
        for (const c of server.liveConnections) {
          const s = schemeOf(c.conn.address);
          open.set(s, (open.get(s) ?? 0) + 1);
        }
        for (const [scheme, n] of open) this.set({ scheme }, n);
      },
    });
    new Gauge({
      name: 'flyme_audit_queue_records', help: 'Audit records waiting to be written to disk.', registers,
      collect() { this.set(self.#sources?.audit.queued ?? 0); },
    });
    let droppedSeen = 0;
    new Counter({
      name: 'flyme_audit_records_dropped_total', help: 'Audit records dropped because the disk did not keep up (the loss itself is recorded in the log).', registers,
      collect() {
        const now = self.#sources?.audit.state.dropped ?? droppedSeen;
        if (now > droppedSeen) { this.inc(now - droppedSeen); droppedSeen = now; }
      },
    });
    new Gauge({
      name: 'flyme_build_info', help: 'Always 1; the version of the running flymed.', labelNames: ['version'], registers,
    }).set({ version: VERSION }, 1);
    if (o.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Hooks for RpcServerOptions.observer. */
  readonly observer: RpcObserver = {
    call: (method, outcome) => { this.#calls(method ?? 'unknown', outcome ?? 'ok').inc(); },
    accepted: (address) => { this.#accepted(schemeOf(address)).inc(); },
    refused: (reason: FlyMeError, address) => {
      this.#refused(schemeOf(address), code(reason.code)).inc();
      if (address.tls && isTlsRefusal(reason)) {
        const r = reason.data.reason;
        this.#tlsRefusals(typeof r === 'string' && TLS_REASONS.has(r) ? r : 'handshake').inc();
      }
    },
  };

  /** Wraps the daemon's event sink: denials and token refusals are counted before coalescing, then passed on. */
  countEvents<S extends SecurityEventSink & { flush(): void }>(inner: S): SecurityEventSink & { flush(): void } {
    return {
      emit: (e: SecurityEvent) => {
        try {
          if (e.kind === 'denied') this.#denials(code(e.reason)).inc();
          else if (e.kind === 'token_refused') this.#tokenRefusals(code(e.reason)).inc();
        } catch {
          // counting must never stop an event
        }
        inner.emit(e);
      },
      flush: () => inner.flush(),
    };
  }

  /** Starts the scrape-time readings and the alert count (once the daemon's parts exist). */
  attach(sources: MetricsSources): void {
    this.#sources = sources;
    this.#unsubscribeAlerts?.();
    this.#unsubscribeAlerts = sources.alerts.observe((a) => this.#alerts(a.kind, a.severity).inc());
    const notAfter = sources.certificateNotAfter;
    if (notAfter && !this.registry.getSingleMetric('flyme_tls_certificate_expiry_seconds')) {
      new Gauge({
        name: 'flyme_tls_certificate_expiry_seconds', help: "Seconds until the daemon's TLS certificate expires (negative once expired); follows reloads.", registers: [this.registry],
        collect() { this.set(Math.round((notAfter().getTime() - Date.now()) / 1000)); },
      });
    }
  }

  /** The text exposition format (what GET /metrics and `flyme status --prometheus` return). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Serves GET /metrics at `at` (checked with parseMetricsAddress); resolves with the URL as bound. */
  async serve(at: MetricsAddress, onError?: (err: unknown) => void): Promise<string> {
    if (this.#endpoint) throw new Error('metrics are already served');
    this.#endpoint = await serveMetrics(at, { text: () => this.text(), contentType: this.contentType, ...(onError ? { onError } : {}) });
    return this.#endpoint.url;
  }

  async close(): Promise<void> {
    this.#unsubscribeAlerts?.();
    this.#unsubscribeAlerts = undefined;
    this.#sources = undefined;
    const e = this.#endpoint;
    this.#endpoint = undefined;
    await e?.close();
  }
}

/** Kind and tls of a listener URL, without re-validating it (it was parsed when it was bound). */
function schemeAddress(url: string): Pick<Address, 'kind' | 'tls'> {
  const scheme = url.slice(0, url.indexOf('://'));
  return { kind: scheme === 'tcp' || scheme === 'tls' ? 'tcp' : 'unix', tls: scheme === 'tls' || scheme === 'unix+tls' };
}

/** A refusal the TLS layer made (it carries a reason), not a limit hit on a TLS listener. */
function isTlsRefusal(e: FlyMeError): boolean {
  return typeof e.data.reason === 'string' || e.code === 'FLYME_HANDSHAKE_FAILED';
}
