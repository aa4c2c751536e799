/** The CLI's way to reach the daemon: a plain socket, or mTLS with the client identity from a certs dir. */
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { FlyMeError, flymeError } from '../errors.js';
import { dial } from '../transport/dial.js';
import { parseAddress } from '../transport/address.js';

export interface DialTarget {
  url: string;
  timeoutMs: number;
  /** Certs dir with client.pem, client.key.pem, root-ca.pem (TLS URLs only). */
  certs?: string | undefined;
  /** Take the identity from this Workload API endpoint instead (TLS URLs only). */
  spiffeSocket?: string | undefined;
  /** Expected daemon SPIFFE ID; default spiffe://<own trust domain>/flymed. */
  serverId?: string | undefined;
}

/** TLS URLs load identity code lazily so plain `flyme ping` stays fast. */
export async function dialDaemon(t: DialTarget): Promise<Duplex> {
  if (!parseAddress(t.url).tls) return dial(t.url, { timeoutMs: t.timeoutMs });
  const { dialWithIdentity } = await import('../rpc/secure-dial.js');
  if (t.spiffeSocket) {
    const { workloadX509Source } = await import('../spiffe/source.js');
    const source = await workloadX509Source({ address: t.spiffeSocket, timeoutMs: t.timeoutMs });
    try {
      return await dialWithIdentity(t.url, { x509Source: source, ...(t.serverId ? { serverId: t.serverId } : {}), timeoutMs: t.timeoutMs });
    } finally {
      source.close(); // the connection is made; a one-shot command does not follow rotation
    }
  }
  const { defaultCertsDir } = await import('../identity/source/files.js');
  const certs = t.certs ?? defaultCertsDir();
  try {
    return await dialWithIdentity(t.url, { certs, ...(t.serverId ? { serverId: t.serverId } : {}), timeoutMs: t.timeoutMs });
  } catch (e) {
    throw missingFileAdvice(e, certs) ?? e;
  }
}

/**
 * A certs-dir file that is not there, as a FlyMeError saying which file and what to do (not a raw ENOENT).
 * The daemon trusts only its own CA, so the advice is to copy or issue from that CA, never `certs init`.
 */
export function missingFileAdvice(e: unknown, certs: string): FlyMeError | undefined {
  if (!(e instanceof FlyMeError) || typeof e.data.path !== 'string') return undefined;
  if ((e.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') return undefined;
  const file = e.data.path;
  return flymeError('FLYME_INVALID_CONFIG',
    `missing ${file}: the certs dir ${certs} needs client.pem, client.key.pem and root-ca.pem (the daemon's CA certificate). ` +
    `Copy them from the machine that holds the daemon's CA, or issue a client certificate there with ` +
    `flyme certs issue --ca <the daemon's certs dir> --spiffe-id spiffe://<trust domain>/client --out ${join(certs, 'client')} ` +
    `and copy its root-ca.pem; or pass --certs DIR (env FLYME_CERTS)`, { path: file }, e);
}
