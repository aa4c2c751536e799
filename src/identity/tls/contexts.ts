/**
 * TLS 1.3 secure contexts built once per identity material (a rotation is new material, so a new context),
 * for the server side (fresh ticket keys per material) and the client side.
 */
import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { flymeError } from '../../errors.js';
import type { X509Material } from '../source/types.js';

const servers = new WeakMap<X509Material, SecureContext>();
const clients = new WeakMap<X509Material, SecureContext>();

function build(m: X509Material, server: boolean): SecureContext {
  const svid = m.svids[0];
  let context: SecureContext;
  try {
    context = createSecureContext({
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ...(svid ? { cert: svid.certPem, key: svid.keyPem } : {}),
      ca: m.bundle.toPem(),
      ...(server ? { ticketKeys: randomBytes(48) } : {}),
    });
  } catch (err) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot build a TLS context for ${svid?.spiffeId.toString() ?? 'the bundle'}: ${(err as Error).message}`, undefined, err);
  }
  // OpenSSL refuses to resume a session on a context that verifies peers unless a session ID context is set.
  if (server) (context as unknown as { context: { setSessionIdContext(id: string): void } }).context.setSessionIdContext('flyme-mtls');
  return context;
}

/** The server context of `m` (its default SVID, its bundle as the CA list, its own ticket keys). */
export function serverContext(m: X509Material): SecureContext {
  let c = servers.get(m);
  if (!c) servers.set(m, (c = build(m, true)));
  return c;
}

/** The client context of `m` (its default SVID when it has one, its bundle as the CA list). */
export function clientContext(m: X509Material): SecureContext {
  let c = clients.get(m);
  if (!c) clients.set(m, (c = build(m, false)));
  return c;
}
