/**
 * The agent's link to a remote `flyme ca serve` over mutual TLS. First start: a join token and the bootstrap
 * trust bundle (`--trust-bundle`) buy the agent's SVID, which is kept in the data directory (agent.pem,
 * agent.key.pem 0600, bundle.pem) so a restart needs no new token. The SVID is renewed at half its life;
 * the SyncAgent stream is reopened with backoff whenever it ends.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import { AgentCaClient, type WireAgentState } from '../../ca/client.js';
import { flymeError } from '../../errors.js';
import { writeFileAtomic } from '../../files/atomic-write.js';
import { StaticX509Source } from '../../identity/source/static.js';
import { parseSvid } from '../../identity/svid.js';
import { loadTrustBundle, TrustBundle } from '../../identity/trust-bundle.js';
import { parseCertificates } from '../../identity/validate.js';
import { followStream } from '../follow.js';
import { derToPem, keyAndCsr, type CaLink, type CaState } from './ca-link.js';

export interface RemoteLinkOptions {
  /** `tls://host:port` or `unix+tls:///path`. */
  caUrl: string;
  dataDir: string;
  /** Needed on first start only. */
  joinToken?: string;
  /** PEM file with the CA's root(s); needed on first start only. */
  trustBundlePath?: string;
  warn?(message: string): void;
}

const files = (dir: string) => ({ cert: join(dir, 'agent.pem'), key: join(dir, 'agent.key.pem'), bundle: join(dir, 'bundle.pem') });

async function saveIdentity(dir: string, chainPem: string, keyPem: string, bundlePem: string): Promise<void> {
  const f = files(dir);
  await writeFileAtomic(f.key, keyPem, { mode: 0o600, overwrite: true });
  await writeFileAtomic(f.cert, chainPem, { mode: 0o644, overwrite: true });
  await writeFileAtomic(f.bundle, bundlePem, { mode: 0o644, overwrite: true });
}

/** The stored identity when it is still valid for at least a minute, else undefined. */
function storedIdentity(dir: string): { chainPem: string; keyPem: string; bundlePem: string } | undefined {
  const f = files(dir);
  if (!existsSync(f.cert) || !existsSync(f.key) || !existsSync(f.bundle)) return undefined;
  const chainPem = readFileSync(f.cert, 'utf8');
  const [leaf] = parseCertificates(chainPem);
  if (!leaf || leaf.notAfter.getTime() - Date.now() < 60_000) return undefined;
  return { chainPem, keyPem: readFileSync(f.key, 'utf8'), bundlePem: readFileSync(f.bundle, 'utf8') };
}

export async function remoteCaLink(o: RemoteLinkOptions): Promise<CaLink> {
  let id = storedIdentity(o.dataDir);
  if (!id) {
    if (!o.joinToken || !o.trustBundlePath) {
      throw flymeError('FLYME_INVALID_CONFIG', `no valid agent SVID in ${o.dataDir}: give --join-token (from flyme ca join-token) and --trust-bundle (the CA's root-ca.pem)`);
    }
    const bundle = await loadTrustBundle(o.trustBundlePath);
    const [td] = bundle.trustDomains;
    const boot = AgentCaClient.bootstrap(o.caUrl, bundle, td!);
    try {
      const { csr, keyPem } = await keyAndCsr();
      const svid = await boot.attestAgent(o.joinToken, csr);
      id = { chainPem: derToPem(svid.cert_chain), keyPem, bundlePem: bundle.toPem() };
      await saveIdentity(o.dataDir, id.chainPem, id.keyPem, id.bundlePem);
    } finally {
      boot.close();
    }
  }
  const source = await StaticX509Source.create({ svids: [await parseSvid(id.chainPem, id.keyPem)], bundle: TrustBundle.fromCertificates(parseCertificates(id.bundlePem)) });
  const agentId = source.svid().spiffeId.toString();
  const client = await AgentCaClient.withIdentity(o.caUrl, source);
  const listeners = new Set<(s: CaState) => void>();
  let latest: CaState | undefined;

  const onState = (w: WireAgentState): void => {
    latest = {
      trustDomain: w.trust_domain,
      entries: w.entries.map((e) => ({ id: e.id, spiffeId: e.spiffe_id, parentId: e.parent_id, selectors: e.selectors, ttlSeconds: e.ttl_seconds, hint: e.hint, createdAt: e.created_at })),
      roots: w.roots.map((r) => new Uint8Array(r)), crls: w.crls.map((c) => new Uint8Array(c)), jwtBundle: new Uint8Array(w.jwt_bundle),
    };
    const bundlePem = derToPem(latest.roots);
    if (bundlePem !== source.bundle().toPem()) {
      // Parsed inside the chain: roots that do not parse (none at all, not a CA) are refused with a warning, never
      // thrown out of this stream 'data' handler (an uncaught exception would end the agent).
      void Promise.resolve().then(() => source.set({ bundle: TrustBundle.fromCertificates(parseCertificates(bundlePem)) }))
        .then(() => writeFileAtomic(files(o.dataDir).bundle, bundlePem, { mode: 0o644, overwrite: true }))
        .catch((e: Error) => o.warn?.(`bundle update refused: ${e.message}`));
    }
    for (const fn of listeners) fn(latest);
  };
  const stopSync = followStream<WireAgentState, ServiceError>((m, end) => client.sync(m, end), onState,
    (err, retryInMs) => o.warn?.(`CA sync stream ended (${err?.details ?? 'end'}); reconnecting in ${retryInMs} ms`));

  const renew = async (): Promise<void> => {
    const { csr, keyPem } = await keyAndCsr();
    const svid = await client.renewAgent(csr);
    const chainPem = derToPem(svid.cert_chain);
    await source.set({ svids: [await parseSvid(chainPem, keyPem)] });
    await saveIdentity(o.dataDir, chainPem, keyPem, source.bundle().toPem());
  };
  let renewTimer: NodeJS.Timeout | undefined;
  const scheduleRenew = (): void => {
    const leaf = source.svid().chain[0]!;
    const half = (leaf.notAfter.getTime() - Date.now()) / 2;
    renewTimer = setTimeout(() => {
      renew().then(scheduleRenew, (e: Error) => {
        o.warn?.(`agent SVID renewal failed: ${e.message}; retrying in 5 s`);
        renewTimer = setTimeout(() => { renew().then(scheduleRenew, () => scheduleRenew()); }, 5000);
        renewTimer.unref();
      });
    }, Math.max(1000, half));
    renewTimer.unref();
  };
  scheduleRenew();

  return {
    agentId,
    onState: (fn) => {
      listeners.add(fn);
      if (latest) fn(latest);
      return () => listeners.delete(fn);
    },
    mintX509: async (entryId, csr) => {
      const s = await client.mintX509Svid(entryId, csr);
      return { chain: s.cert_chain.map((c) => new Uint8Array(c)), expiresAt: s.expires_at };
    },
    mintJwt: async (entryId, audience) => {
      const t = await client.mintJwtSvid(entryId, audience);
      return { token: t.token, expiresAt: t.expires_at };
    },
    close: async () => {
      clearTimeout(renewTimer);
      stopSync();
      client.close();
    },
  };
}
