/** Human output for CLI results. */

/**
 * A line safe to print on an operator's terminal: text a peer chose (a path, a file name, a message, an exe)
 * cannot start a new line that looks like a record of its own, move the cursor or send escape sequences.
 * C0 and C1 controls, DEL, line/paragraph separators and bidi overrides are shown as \uXXXX (\n, \r, \t
 * as themselves escaped).
 */
export function printable(line: string): string {
  return line.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Lines joined for the terminal, each made printable. */
const printLines = (lines: readonly string[]): string => lines.map(printable).join('\n');

export function formatWhoami(r: Record<string, unknown>): string {
  const lines: string[] = [];
  const peer = r.peer as Record<string, unknown> | undefined;
  if (peer) {
    lines.push(`kernel:  uid=${peer.uid} gid=${peer.gid}${peer.pid !== undefined ? ` pid=${peer.pid}` : ''}${peer.exe ? ` exe=${peer.exe}` : ''}${peer.pidfd ? ' (pidfd-pinned)' : ''}`);
  } else {
    lines.push('kernel:  (no peer credentials on this transport)');
  }
  const cert = r.cert as Record<string, unknown> | undefined;
  if (cert) lines.push(`cert:    ${cert.spiffeId} serial=${cert.serial} notAfter=${cert.notAfter}`);
  const token = r.token as Record<string, unknown> | undefined;
  if (token) lines.push(`token:   sub=${token.sub} iss=${token.iss}`);
  const roles = (r.roles as string[]) ?? [];
  const sources = (r.roleSources as Record<string, string>) ?? {};
  lines.push(`roles:   ${roles.length ? roles.map((x) => `${x} (from ${sources[x] ?? '?'})`).join(', ') : '(none: only whoami is allowed)'}`);
  lines.push(`via:     ${r.transport}`);
  return printLines(lines);
}

export function formatStatus(r: Record<string, unknown>): string {
  return printLines([
    `flymed ${r.version} (pid ${r.pid}), up ${r.uptimeSeconds}s`,
    `listeners:   ${(r.listeners as string[]).join(', ')}`,
    `connections: ${r.connections} open, ${r.connectionsTotal} total, ${r.refusedConnections} refused`,
    `requests:    ${r.requestsServed} served, ${r.deniedCalls} denied`,
    ...(r.policy ? [`policy:      ${policyLine(r.policy as Record<string, unknown>)}`] : []),
    ...(r.killSwitch ? [`kill switch: ${killLine(r.killSwitch as Record<string, unknown>)}`] : []),
    ...(r.alerts ? [`alerts:      ${alertCounts(r.alerts as Record<string, any>)}`] : []),
    ...(r.audit ? [`audit log:   ${(r.audit as Record<string, unknown>).file} (seq ${(r.audit as Record<string, unknown>).seq}, ${(r.audit as Record<string, unknown>).dropped} dropped)`,
      `audit key:   ${(r.audit as Record<string, unknown>).keyFingerprint} (record it elsewhere: flyme audit-log verify --fingerprint)`] : []),
    ...(r.tls ? [`tls:         ${(r.tls as Record<string, unknown>).spiffeId}, certificate valid until ${(r.tls as Record<string, unknown>).notAfter}`] : []),
  ]);
}

function killLine(k: Record<string, unknown>): string {
  return k.lockedDown ? `LOCKED DOWN since ${String(k.since)}: ${String(k.reason)}` : 'off';
}

function alertCounts(a: Record<string, any>): string {
  const sev = Object.entries(a.bySeverity ?? {}).map(([k, v]) => `${v} ${k}`).join(', ');
  return `${a.total} total${sev ? ` (${sev})` : ''}, ${a.subscribers ?? 0} subscribers`;
}

export function formatAlert(a: Record<string, unknown>): string {
  const p = a.principal as Record<string, any> | undefined;
  const who = p?.cert?.spiffeId ?? (p?.peer ? `uid ${p.peer.uid}` : undefined);
  return printable(`${String(a.time)} ${String(a.severity).toUpperCase().padEnd(8)} ${String(a.kind)}${who ? ` [${who}]` : ''}: ${String(a.message)}`);
}

function policyLine(p: Record<string, unknown>): string {
  return `${String(p.source)}${p.version !== undefined ? ` version ${String(p.version)}` : ''} (sha256 ${String(p.hash).slice(0, 16)}, loaded ${String(p.loadedAt)})`;
}

export function formatList(r: Record<string, unknown>): string {
  const out: string[] = [];
  for (const res of r.results as Array<Record<string, any>>) {
    if (res.error) {
      out.push(`${res.path}: ${res.error.code}: ${res.error.message}`);
      continue;
    }
    // realPath is the lexically normalized path (`.`/`..` removed), never a link's target.
    out.push(`${res.path}${res.realPath !== undefined && res.realPath !== res.path ? ` (as ${res.realPath})` : ''}:`);
    for (const e of res.entries) out.push(`  ${e.mode} ${String(e.type).padEnd(9)} ${String(e.size).padStart(10)} ${e.mtime} ${e.name}`);
    if (res.truncated) out.push(`  ... truncated after ${res.entries.length} entries`);
  }
  return printLines(out);
}

export function formatAudit(r: Record<string, unknown>): string {
  const findings = r.findings as Array<{ id: string; severity: string; message: string; fixable: boolean; fixed: boolean }>;
  const mark = (f: (typeof findings)[number]) => (f.fixed ? 'FIXED' : f.severity === 'info' ? 'ok' : f.severity.toUpperCase());
  const s = r.summary as { critical: number; warning: number; fixed: number };
  return [
    ...findings.map((f) => `${mark(f).padEnd(8)} ${f.message}${f.fixable && !f.fixed ? ' [fixable: flyme audit --fix]' : ''}`),
    `${s.critical} critical, ${s.warning} warnings, ${s.fixed} fixed`,
  ].join('\n');
}
