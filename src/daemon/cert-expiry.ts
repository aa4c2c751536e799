/** Raise a `cert_expiring` alert when the daemon's certificate has less than 7 days left (checked hourly). */
import type { SecurityEventSink } from '../auth/events.js';

export const EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

export function watchCertExpiry(notAfter: () => Date, spiffeId: string, events: SecurityEventSink, everyMs = 3600_000): () => void {
  let warnedFor = '';
  const check = () => {
    const end = notAfter();
    const left = end.getTime() - Date.now();
    if (left >= EXPIRY_WARNING_MS || warnedFor === end.toISOString()) return;
    warnedFor = end.toISOString();
    events.emit({
      kind: 'cert_expiring', severity: left <= 0 ? 'critical' : 'warning', source: 'flymed', subject: spiffeId,
      message: left <= 0 ? `the daemon certificate for ${spiffeId} expired at ${warnedFor}` : `the daemon certificate for ${spiffeId} expires at ${warnedFor} (in ${Math.ceil(left / 3600_000)} h): renew it (flyme certs issue) — flymed reloads it without a restart`,
      details: { notAfter: warnedFor },
    });
  };
  check();
  const t = setInterval(check, everyMs);
  t.unref();
  return () => clearInterval(t);
}
