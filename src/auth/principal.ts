/**
 * The Principal: who is on the other end of a connection, as the server established it.
 * Same shape in the daemon, gRPC and Redis integrations. Roles come only from server-side
 * policy, never from what a client claims.
 */

/** Kernel-attested identity of a Unix-socket peer (SO_PEERCRED, pinned with a pidfd where available). */
export interface PeerIdentity {
  uid: number;
  gid: number;
  /** Absent when the kernel did not report it. */
  pid?: number;
  /** `/proc/PID/exe` target, present only when read while the pidfd proved the process was the peer. */
  exe?: string;
  /** Process start time in clock ticks since boot (`/proc/PID/stat` field 22), same condition as `exe`. */
  startTime?: number;
  /** True when the pid was pinned with SO_PEERPIDFD (recycled pids detected). */
  pidfd?: boolean;
}

/** Identity proven by a verified client certificate (X.509-SVID). */
export interface CertificateIdentity {
  spiffeId: string;
  /** Hex serial number. */
  serial: string;
  /** ISO-8601 notAfter. */
  notAfter: string;
  /** base64url SHA-256 of the DER certificate (RFC 8705 `x5t#S256`). */
  thumbprint: string;
}

/** Identity proven by a verified token. */
export interface TokenIdentity {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  jti: string;
  /** Roles the token claimed (before intersection with policy). */
  claimedRoles: string[];
}

export interface Principal {
  peer?: PeerIdentity;
  cert?: CertificateIdentity;
  token?: TokenIdentity;
  /** The token this connection presented stopped being valid (expired, key or issuer gone): its roles are gone. */
  tokenLost?: { iss: string; sub: string; code: string; reason: string; roles: string[] };
  /** Effective roles, decided by the server. */
  roles: Set<string>;
  /** Where each effective role came from, e.g. `{admin: 'uid:0'}`. */
  roleSources: Map<string, string>;
  /** Listener URL the connection arrived on. */
  transport: string;
}

/**
 * A principal without roles. `peer`, when given, is part of the new object from the start (a principal kept per
 * connection then holds it in the object itself, not in an extra property store).
 */
export function emptyPrincipal(transport: string, peer?: PeerIdentity): Principal {
  return peer ? { peer, roles: new Set(), roleSources: new Map(), transport } : { roles: new Set(), roleSources: new Map(), transport };
}

/** A JSON-safe view of a principal (for `whoami`, logs and audit records). */
export function describePrincipal(p: Principal): Record<string, unknown> {
  return {
    transport: p.transport,
    ...(p.peer ? { peer: { ...p.peer } } : {}),
    ...(p.cert ? { cert: { ...p.cert } } : {}),
    ...(p.token ? { token: { ...p.token } } : {}),
    ...(p.tokenLost ? { tokenLost: { ...p.tokenLost } } : {}),
    roles: [...p.roles].sort(),
    roleSources: Object.fromEntries([...p.roleSources].sort(([a], [b]) => a.localeCompare(b))),
  };
}
