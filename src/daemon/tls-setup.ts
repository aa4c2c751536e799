/**
 * mTLS for flymed: the daemon's identity source (a certs dir, watched), the client authorizer, and what
 * happens to a live connection whose peer no longer verifies (expired, revoked, root removed): it gets a
 * last JSON-RPC error line and is closed, and the event is logged and audited.
 */
import type { SecurityEventSink } from '../auth/events.js';
import { authorizeAnyOf, authorizeId, authorizeMemberOf, authorizePathPrefix, type Authorizer } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { TlsServerUpgrader } from '../identity/tls/server.js';
import type { ServerLogger } from '../rpc/server.js';
import { encodeError } from '../wire/jsonrpc.js';

export interface DaemonTlsOptions {
  source: X509Source;
  allowIds: string[];
  allowPrefixes: string[];
  handshakeTimeoutMs: number;
  events: SecurityEventSink;
}

export interface DaemonTls {
  upgrader: TlsServerUpgrader;
  authorizerDescription: string;
  stopWatching(): void;
}

export function setupDaemonTls(opts: DaemonTlsOptions, log: ServerLogger): DaemonTls {
  const td = opts.source.svid().spiffeId.trustDomain;
  const parts: Authorizer[] = [];
  const described: string[] = [];
  for (const id of opts.allowIds) { parts.push(authorizeId(id)); described.push(`id ${id}`); }
  for (const p of opts.allowPrefixes) { parts.push(authorizePathPrefix(td, p)); described.push(`prefix spiffe://${td}${p}`); }
  if (parts.length === 0) { parts.push(authorizeMemberOf(td)); described.push(`member of ${td}`); }
  const upgrader = new TlsServerUpgrader({
    source: opts.source,
    authorizer: authorizeAnyOf(...parts),
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    onPeerInvalidated: ({ socket, cert, error }) => {
      log.warn({ event: 'peer_invalidated', spiffeId: cert.spiffeId, serial: cert.serial, code: error.code, reason: error.data.reason }, `closing a live connection: ${error.message}`);
      opts.events.emit({
        kind: 'peer_invalidated', severity: 'warning', source: 'flymed', message: error.message, decision: 'deny',
        principal: { cert: { spiffeId: cert.spiffeId, serial: cert.serial } }, reason: typeof error.data.reason === 'string' ? error.data.reason : error.code,
      });
      socket.on('error', () => undefined);
      socket.end(encodeError(null, error));
      setTimeout(() => socket.destroy(), 1000).unref();
    },
  });
  const stopWatching = upgrader.watch((e) => {
    if (e.type === 'reloaded') log.info({ event: 'tls_reloaded', serial: e.serial, notAfter: e.notAfter }, 'TLS credentials reloaded');
    else log.error({ event: 'tls_reload_failed', code: e.error.code }, `TLS reload refused, keeping the old credentials: ${e.error.message}`);
  });
  return { upgrader, authorizerDescription: described.join(' or '), stopWatching: () => { stopWatching(); upgrader.close(); opts.source.close(); } };
}
