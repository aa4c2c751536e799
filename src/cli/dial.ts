/** The CLI's way to reach the daemon: a plain socket, or mTLS with the client identity from a certs dir. */
import type { Duplex } from 'node:stream';
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
  return dialWithIdentity(t.url, { certs: t.certs ?? defaultCertsDir(), ...(t.serverId ? { serverId: t.serverId } : {}), timeoutMs: t.timeoutMs });
}
