/** The CLI's way to reach the daemon: a plain socket, or mTLS with the client identity from a certs dir. */
import type { Duplex } from 'node:stream';
import { dial } from '../transport/dial.js';
import { parseAddress } from '../transport/address.js';

export interface DialTarget {
  url: string;
  timeoutMs: number;
  /** Certs dir with client.pem, client.key.pem, root-ca.pem (TLS URLs only). */
  certs?: string | undefined;
  /** Expected daemon SPIFFE ID; default spiffe://<own trust domain>/flymed. */
  serverId?: string | undefined;
}

/** TLS URLs load identity code lazily so plain `flyme ping` stays fast. */
export async function dialDaemon(t: DialTarget): Promise<Duplex> {
  if (!parseAddress(t.url).tls) return dial(t.url, { timeoutMs: t.timeoutMs });
  const { join } = await import('node:path');
  const { readFileSync } = await import('node:fs');
  const { defaultCertsDir } = await import('./certs.js');
  const { authorizeId, parseCertificates, spiffeIdFromCertificate } = await import('../identity/index.js');
  const { dialTls } = await import('../identity/tls/index.js');
  const dir = t.certs ?? defaultCertsDir();
  const certPath = join(dir, 'client.pem');
  let serverId = t.serverId;
  if (!serverId) {
    const own = spiffeIdFromCertificate(parseCertificates(readFileSync(certPath, 'utf8'))[0]!);
    serverId = `spiffe://${own.trustDomain}/flymed`;
  }
  return dialTls(t.url, {
    certPath,
    keyPath: join(dir, 'client.key.pem'),
    caPaths: [join(dir, 'root-ca.pem')],
    serverAuthorizer: authorizeId(serverId),
    timeoutMs: t.timeoutMs,
  });
}
