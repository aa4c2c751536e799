/**
 * Credentials for grpc-js from FlyMe identity files: server credentials requiring a client certificate
 * over TLS 1.3 that reload without a restart, channel credentials that check the server's SPIFFE ID
 * (not a DNS name), and call credentials that attach a bearer token refreshed before it expires.
 */
import { readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FlyMeError, flymeError } from '../errors.js';
import type { Authorizer } from '../identity/authorizer.js';
import { loadSvid } from '../identity/svid.js';
import { parseTrustBundle, type TrustBundle } from '../identity/trust-bundle.js';
import { spiffeServerIdentity } from '../identity/tls/server-identity.js';

/** Where a workload's identity lives (a `flyme certs` directory has server.pem/client.pem, *.key.pem, root-ca.pem). */
export interface IdentityFiles {
  certPath: string;
  keyPath: string;
  caPath: string;
}

interface Loaded { cert: Buffer; key: Buffer; ca: Buffer; bundle: TrustBundle; notAfter: Date; spiffeId: string }

async function load(f: IdentityFiles): Promise<Loaded> {
  const svid = await loadSvid(f.certPath, f.keyPath);
  let caPem: string;
  try {
    caPem = readFileSync(f.caPath, 'utf8');
  } catch (e) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${f.caPath}: ${(e as NodeJS.ErrnoException).code}`);
  }
  return {
    cert: Buffer.from(svid.certPem), key: Buffer.from(svid.keyPem), ca: Buffer.from(caPem),
    bundle: parseTrustBundle(caPem), notAfter: svid.chain[0]!.notAfter, spiffeId: svid.spiffeId.toString(),
  };
}

/**
 * grpc-js server credentials: TLS 1.3 only, client certificate requested (and required per call by the
 * auth interceptor), rotated in place by
 * `reload()` (and on file change with `watch()`): grpc-js applies a new secure context to new
 * connections; a bad new set is refused and the old one stays.
 */
export class FlyMeServerCredentials extends grpc.ServerCredentials {
  #current: Loaded;
  #timer: NodeJS.Timeout | undefined;

  private constructor(readonly files: IdentityFiles, loaded: Loaded) {
    // The certificate is requested but judged per call by the auth interceptor (full chain check against
    // the bundle, SVID rules, authorizer), so that a missing or bad one is a clear UNAUTHENTICATED status
    // instead of an opaque handshake failure; no handler runs before that check.
    super({ requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, contextOf(loaded));
    this.#current = loaded;
  }

  static async load(files: IdentityFiles): Promise<FlyMeServerCredentials> {
    return new FlyMeServerCredentials(files, await load(files));
  }

  get bundle(): TrustBundle { return this.#current.bundle; }
  get spiffeId(): string { return this.#current.spiffeId; }
  get notAfter(): Date { return this.#current.notAfter; }

  /** Re-read the files; throws (and keeps the old credentials) if they are not a valid SVID set. */
  async reload(): Promise<void> {
    const next = await load(this.files);
    createSecureContext(contextOf(next)); // fails here, not inside grpc-js, if OpenSSL rejects the set
    this.#current = next;
    this.updateSecureContextOptions(contextOf(next));
  }

  /** Reload when the certificate, key or CA file changes; `onResult` hears successes and refusals. */
  watch(onResult: (err?: FlyMeError) => void = () => {}): () => void {
    const dirs = new Set([dirname(this.files.certPath), dirname(this.files.keyPath), dirname(this.files.caPath)]);
    const watchers = [...dirs].map((d) => watch(d, { persistent: false }, () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.reload().then(() => onResult(), (e: FlyMeError) => onResult(e)), 100);
    }));
    return () => { clearTimeout(this.#timer); watchers.forEach((w) => w.close()); };
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

function contextOf(l: Loaded) {
  return { cert: l.cert, key: l.key, ca: l.ca, minVersion: 'TLSv1.3' as const };
}

/**
 * Channel credentials: the client's SVID, the CA bundle, TLS 1.3, and the server's SPIFFE ID checked by
 * an authorizer instead of the host name.
 */
export async function channelCredentials(files: IdentityFiles, serverAuthorizer: Authorizer): Promise<grpc.ChannelCredentials> {
  const l = await load(files);
  const ctx = createSecureContext({ ...contextOf(l) });
  return grpc.credentials.createFromSecureContext(ctx, {
    checkServerIdentity: spiffeServerIdentity(serverAuthorizer),
  });
}

/** A token source: returns a token and when it expires (epoch seconds). */
export type TokenProvider = () => Promise<{ token: string; exp: number }> | { token: string; exp: number };

/**
 * Call credentials adding `authorization: Bearer <token>`; the token is fetched again when less than
 * `refreshBeforeSeconds` (default 60, capped at half its lifetime) remain.
 */
export function tokenCallCredentials(provider: TokenProvider, refreshBeforeSeconds = 60): grpc.CallCredentials {
  let cached: { token: string; exp: number; refreshAt: number } | undefined;
  let pending: Promise<{ token: string; exp: number; refreshAt: number }> | undefined;
  const fetch = async () => {
    const t = await provider();
    const now = Date.now() / 1000;
    return { ...t, refreshAt: t.exp - Math.min(refreshBeforeSeconds, (t.exp - now) / 2) };
  };
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const now = Date.now() / 1000;
    const ready = cached && cached.refreshAt > now ? Promise.resolve(cached) : (pending ??= fetch().finally(() => { pending = undefined; }));
    ready.then((t) => {
      cached = t;
      const md = new grpc.Metadata();
      md.add('authorization', `Bearer ${t.token}`);
      callback(null, md);
    }, (e: Error) => callback(e));
  });
}
