/** mTLS for flymed: load the daemon's SVID and trust bundle, pick the client authorizer, reload on change. */
import { join } from 'node:path';
import type { ServerLogger } from '../rpc/server.js';
import { authorizeAnyOf, authorizeId, authorizeMemberOf, authorizePathPrefix, SpiffeId, type Authorizer } from '../identity/index.js';
import { TlsServerUpgrader } from '../identity/tls/index.js';

export interface DaemonTlsOptions {
  certsDir: string;
  allowIds: string[];
  allowPrefixes: string[];
  handshakeTimeoutMs: number;
}

export interface DaemonTls {
  upgrader: TlsServerUpgrader;
  authorizerDescription: string;
  stopWatching(): void;
}

export async function setupDaemonTls(opts: DaemonTlsOptions, log: ServerLogger): Promise<DaemonTls> {
  const certPath = join(opts.certsDir, 'server.pem');
  const keyPath = join(opts.certsDir, 'server.key.pem');
  const caPaths = [join(opts.certsDir, 'root-ca.pem')];
  // First load with a placeholder authorizer to learn our own trust domain, then build the real one.
  let authorizer: Authorizer = () => undefined;
  const upgrader = await TlsServerUpgrader.load({ certPath, keyPath, caPaths, authorizer: (id, chain) => authorizer(id, chain), handshakeTimeoutMs: opts.handshakeTimeoutMs });
  const td = SpiffeId.parse(upgrader.spiffeId).trustDomain;
  const parts: Authorizer[] = [];
  const described: string[] = [];
  for (const id of opts.allowIds) { parts.push(authorizeId(id)); described.push(`id ${id}`); }
  for (const p of opts.allowPrefixes) { parts.push(authorizePathPrefix(td, p)); described.push(`prefix spiffe://${td}${p}`); }
  if (parts.length === 0) { parts.push(authorizeMemberOf(td)); described.push(`member of ${td}`); }
  authorizer = authorizeAnyOf(...parts);
  const stopWatching = upgrader.watch((e) => {
    if (e.type === 'reloaded') log.info({ event: 'tls_reloaded', serial: e.serial, notAfter: e.notAfter }, 'TLS credentials reloaded');
    else log.error({ event: 'tls_reload_failed', code: e.error.code }, `TLS reload refused, keeping the old credentials: ${e.error.message}`);
  });
  return { upgrader, authorizerDescription: described.join(' or '), stopWatching };
}
