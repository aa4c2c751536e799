/** Human output for CLI results. */

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
  return lines.join('\n');
}

export function formatStatus(r: Record<string, unknown>): string {
  return [
    `flymed ${r.version} (pid ${r.pid}), up ${r.uptimeSeconds}s`,
    `listeners:   ${(r.listeners as string[]).join(', ')}`,
    `connections: ${r.connections} open, ${r.connectionsTotal} total, ${r.refusedConnections} refused`,
    `requests:    ${r.requestsServed} served, ${r.deniedCalls} denied`,
  ].join('\n');
}
