/**
 * The certificate authority (no transport): join tokens, agents, registration entries, X.509- and JWT-SVID
 * issuance, revocation lists, intermediate rotation. Every change is persisted before it is acknowledged;
 * every issuance and refusal is reported to the security event sink (the CA's signed audit log).
 *
 * Rules: from a CSR only the public key is used (its signature proves possession); every extension is the
 * CA's (identity/profile.ts); serials are 128 random bits, never reused while the certificate lives; an agent
 * sees only the entries whose parent it is and obtains SVIDs only for them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { ignoreSecurityEvents, type SecurityEvent, type SecurityEventSink } from '../auth/events.js';
import { FlyMeError, flymeError } from '../errors.js';
import { Reloadable } from '../files/reloadable.js';
import { createCrl } from '../identity/crl.js';
import { issueSvid, type IssuedSvid } from '../identity/issue.js';
import { keyTypeOf, type CryptoKey } from '../identity/keys.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import { x509 } from '../identity/x509.js';
import { isAgentId, newEntry, type Entry } from './entries.js';
import { caFiles, dueForRotation, loadCaMaterial, rotateIntermediate, tidyCaDir, type CaMaterial } from './material.js';
import type { Selector } from './selectors.js';
import { loadState, saveState, type CaState } from './state.js';

export interface AuthorityOptions {
  dataDir: string;
  events?: SecurityEventSink;
  /** Lifetime of new intermediates (default 168 h); rotation starts at two thirds of it. */
  intermediateHours?: number;
  /** Lifetime of agent SVIDs (default 3600 s). */
  agentTtlSeconds?: number;
  /** Longest JWT-SVID lifetime (default 300 s). */
  jwtTtlSeconds?: number;
  /** How often rotation and revocation lists are checked (default 60 s). */
  checkEveryMs?: number;
  /** Warnings (offline root, failed rotation). */
  warn?(message: string): void;
}

export interface IssuedOut {
  spiffeId: string;
  /** DER, leaf first. */
  chain: Uint8Array[];
  expiresAt: number;
}

export interface AgentStateOut {
  trustDomain: string;
  entries: Entry[];
  roots: Uint8Array[];
  crls: Uint8Array[];
  jwtBundle: Uint8Array;
}

const MAX_CSR_BYTES = 16 * 1024;
const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');
const der = (c: { rawData: ArrayBuffer }) => new Uint8Array(c.rawData);

function csrPem(csr: Uint8Array): string {
  if (csr.length === 0 || csr.length > MAX_CSR_BYTES) throw flymeError('FLYME_INVALID_CERTIFICATE', `a CSR must be 1 to ${MAX_CSR_BYTES} bytes of DER`, { rule: 'csr-size' });
  return x509.PemConverter.encode(Uint8Array.from(csr).buffer, 'CERTIFICATE REQUEST');
}

export class Authority {
  #state: CaState;
  #crls: Uint8Array[] = [];
  #crlsAt = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  readonly #subscribers = new Map<string, Set<(s: AgentStateOut) => void>>();
  readonly #events: SecurityEventSink;
  #lastWarning = 0;

  private constructor(private readonly o: AuthorityOptions, private readonly material: Reloadable<CaMaterial>, state: CaState) {
    this.#state = state;
    this.#events = o.events ?? ignoreSecurityEvents;
  }

  /** Opens the CA in `dataDir` (created with `initCaDir`). Fails closed on missing or corrupt files. */
  static async open(o: AuthorityOptions): Promise<Authority> {
    const f = caFiles(o.dataDir);
    for (const note of tidyCaDir(o.dataDir)) o.warn?.(note);
    const material = await Reloadable.open(() => loadCaMaterial(o.dataDir), { watch: [f.intermediate, f.intermediateKey], debounceMs: 200 });
    const a = new Authority(o, material, loadState(f.state, material.current.trustDomain));
    material.onUpdate(async () => { await a.#rebuildCrls(); a.#notifyAll(); });
    material.onError((e) => o.warn?.(`CA material reload refused, keeping the current intermediate: ${e.message}`));
    await a.#rebuildCrls();
    await a.#checkRotation();
    a.#timer = setInterval(() => { void a.#checkRotation().catch((e: Error) => o.warn?.(`intermediate rotation failed: ${e.message}`)); }, o.checkEveryMs ?? 60_000);
    a.#timer.unref();
    return a;
  }

  get trustDomain(): string {
    return this.material.current.trustDomain;
  }

  get root(): x509.X509Certificate {
    return this.material.current.root;
  }

  /** The CA's own serving identity: a fresh SVID `spiffe://TD/ca` for `publicKey`, issued by the intermediate. */
  async issueServerSvid(publicKey: CryptoKey, ttlSeconds: number): Promise<IssuedSvid> {
    const svid = await issueSvid(this.material.current.intermediate, { spiffeId: `spiffe://${this.trustDomain}/ca`, publicKey, ttlSeconds });
    await this.#record(svid, undefined);
    return svid;
  }

  // ---- agents --------------------------------------------------------------------------------------------

  /** Trades a single-use join token and a CSR for the agent's first SVID. */
  attestAgent(joinToken: string, csr: Uint8Array): Promise<IssuedOut> {
    return this.#serial(async () => {
      const pem = csrPem(csr);
      const now = Date.now();
      const rec = this.#state.joinTokens.find((t) => t.hash === hashToken(joinToken));
      const refuse = (why: string, agentId?: string): never => {
        this.#emit({ kind: 'svid_refused', severity: 'warning', message: `agent attestation refused: ${why}`, reason: 'join-token', ...(agentId ? { subject: agentId } : {}) });
        throw flymeError('FLYME_PERMISSION_DENIED', `join token refused: ${why}`);
      };
      if (!rec) return refuse('unknown token');
      if (rec.usedAt !== undefined) return refuse(`already used at ${new Date(rec.usedAt * 1000).toISOString()}`, rec.agentId);
      if (rec.expiresAt * 1000 < now) return refuse('expired', rec.agentId);
      // Everything about the CSR is checked before the token is spent.
      let signed = false;
      try {
        const req = new x509.Pkcs10CertificateRequest(pem);
        keyTypeOf(req.publicKey);
        signed = await req.verify();
      } catch (err) {
        refuse(`the CSR cannot be used: ${err instanceof FlyMeError ? err.message : 'it cannot be parsed'}`, rec.agentId);
      }
      if (!signed) refuse('the CSR signature does not verify', rec.agentId);
      rec.usedAt = Math.floor(now / 1000);
      this.#state.agents = [...this.#state.agents.filter((a) => a.id !== rec.agentId), { id: rec.agentId, attestedAt: rec.usedAt }];
      await this.#save();
      return this.#issue(rec.agentId, pem, this.o.agentTtlSeconds ?? 3600, undefined, `agent attested with a join token`);
    });
  }

  /** Registers the in-process agent of `flyme agent --ca local` (no join token: it is this process). */
  registerLocalAgent(agentId: string): Promise<void> {
    return this.#serial(async () => {
      const id = SpiffeId.parse(agentId);
      if (!id.memberOf(this.trustDomain) || !isAgentId(id)) throw flymeError('FLYME_INVALID_SPIFFE_ID', `an agent ID is spiffe://${this.trustDomain}/agent/NAME (got ${agentId})`);
      if (this.#state.agents.some((a) => a.id === agentId)) return;
      this.#state.agents.push({ id: agentId, attestedAt: Math.floor(Date.now() / 1000) });
      await this.#save();
      this.#emit({ kind: 'entry_changed', severity: 'info', message: `in-process agent ${agentId} registered`, subject: agentId, details: { action: 'local-agent' } });
    });
  }

  /** A new SVID for an attested agent's own ID. */
  renewAgent(agentId: string, csr: Uint8Array): Promise<IssuedOut> {
    return this.#serial(async () => {
      this.#requireAgent(agentId, 'renew');
      return this.#issue(agentId, csrPem(csr), this.o.agentTtlSeconds ?? 3600, undefined, 'agent SVID renewed');
    });
  }

  /** An X.509-SVID for `entryId`, which must belong to `agentId`. */
  mintX509(agentId: string, entryId: string, csr: Uint8Array): Promise<IssuedOut> {
    return this.#serial(async () => {
      const entry = this.#entryFor(agentId, entryId);
      return this.#issue(entry.spiffeId, csrPem(csr), entry.ttlSeconds, entry.id, `workload SVID for ${agentId}`);
    });
  }

  /** A JWT-SVID (ES256, kid, typ JWT; sub, aud, exp, iat) for `entryId`, which must belong to `agentId`. */
  async mintJwt(agentId: string, entryId: string, audience: readonly string[]): Promise<{ spiffeId: string; token: string; expiresAt: number }> {
    const entry = this.#entryFor(agentId, entryId);
    if (audience.length === 0 || audience.length > 16 || audience.some((a) => typeof a !== 'string' || a.length === 0 || Buffer.byteLength(a) > 512)) {
      throw flymeError('FLYME_INVALID_PARAMS', 'a JWT-SVID needs 1 to 16 non-empty audiences of at most 512 bytes', { field: 'audience' });
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = now + Math.min(entry.ttlSeconds, this.o.jwtTtlSeconds ?? 300);
    const { key } = this.material.current.jwt;
    const token = await new SignJWT({ aud: audience.length === 1 ? audience[0]! : [...audience] })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setSubject(entry.spiffeId).setIssuedAt(now).setExpirationTime(exp)
      .sign(key.key as Parameters<SignJWT['sign']>[0]);
    const aud = audience.join(' ');
    this.#emit({ kind: 'svid_issued', severity: 'info', message: `JWT-SVID for ${entry.spiffeId} (audience ${aud.length > 200 ? `${aud.slice(0, 200)}…` : aud})`, subject: entry.spiffeId, details: { entryId, agentId, expiresAt: exp, type: 'jwt', audiences: audience.length } });
    return { spiffeId: entry.spiffeId, token, expiresAt: exp };
  }

  /** What `agentId` needs: its entries, the roots, revocation lists and JWT keys. */
  agentState(agentId: string): AgentStateOut {
    const m = this.material.current;
    return {
      trustDomain: m.trustDomain,
      entries: this.#state.entries.filter((e) => e.parentId === agentId).map((e) => ({ ...e, selectors: e.selectors.map((s) => ({ ...s })) })),
      roots: [der(m.root)],
      crls: [...this.#crls],
      jwtBundle: new TextEncoder().encode(JSON.stringify({ keys: [{ ...m.jwt.publicJwk, kid: m.jwt.key.kid, alg: 'ES256', use: 'jwt-svid' }] })),
    };
  }

  /** Calls `fn` with the agent's state now and after every change. Returns an unsubscribe function. */
  subscribe(agentId: string, fn: (s: AgentStateOut) => void): () => void {
    this.#requireAgent(agentId, 'sync');
    let set = this.#subscribers.get(agentId);
    if (!set) this.#subscribers.set(agentId, (set = new Set()));
    set.add(fn);
    fn(this.agentState(agentId));
    return () => { set!.delete(fn); };
  }

  // ---- operators -----------------------------------------------------------------------------------------

  createJoinToken(agentId: string, ttlSeconds = 600): Promise<{ token: string; agentId: string; expiresAt: number }> {
    return this.#serial(async () => {
      const id = SpiffeId.parse(agentId);
      if (!id.memberOf(this.trustDomain) || !isAgentId(id)) {
        throw flymeError('FLYME_INVALID_SPIFFE_ID', `an agent ID is spiffe://${this.trustDomain}/agent/NAME (got ${id.toString()})`, { field: 'agent_id' });
      }
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 10 || ttlSeconds > 7 * 86400) throw flymeError('FLYME_INVALID_CONFIG', 'a join token lives 10 s to 7 days', { field: 'ttl_seconds' });
      const token = randomBytes(32).toString('base64url');
      const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
      this.#state.joinTokens.push({ hash: hashToken(token), agentId: id.toString(), expiresAt });
      await this.#save();
      this.#emit({ kind: 'join_token_created', severity: 'info', message: `join token for ${id.toString()} (expires ${new Date(expiresAt * 1000).toISOString()})`, subject: id.toString() });
      return { token, agentId: id.toString(), expiresAt };
    });
  }

  createEntry(e: { spiffeId: string; parentId: string; selectors: readonly (string | Selector)[]; ttlSeconds?: number; hint?: string }): Promise<Entry> {
    return this.#serial(async () => {
      const entry = newEntry(this.trustDomain, e);
      const dup = this.#state.entries.find((x) => x.spiffeId === entry.spiffeId && x.parentId === entry.parentId
        && JSON.stringify(x.selectors.map((s) => s.value).sort()) === JSON.stringify(entry.selectors.map((s) => s.value).sort()));
      if (dup) throw flymeError('FLYME_FILE_EXISTS', `an identical entry exists (${dup.id})`, { id: dup.id });
      this.#state.entries.push(entry);
      await this.#save();
      this.#emit({ kind: 'entry_changed', severity: 'info', message: `entry ${entry.id} created: ${entry.spiffeId} for ${entry.parentId} [${entry.selectors.map((s) => `${s.type}:${s.value}`).join(' ')}]`, subject: entry.spiffeId, details: { action: 'create', entry } });
      this.#notify(entry.parentId);
      return entry;
    });
  }

  listEntries(parentId?: string): Entry[] {
    return this.#state.entries.filter((e) => !parentId || e.parentId === parentId);
  }

  /** Deletes an entry and revokes every SVID issued for it (revocation lists reach agents at once). */
  deleteEntry(id: string): Promise<{ entry: Entry; revoked: number }> {
    return this.#serial(async () => {
      const entry = this.#state.entries.find((e) => e.id === id);
      if (!entry) throw flymeError('FLYME_NOT_FOUND', `no entry ${id}`, { id });
      this.#state.entries = this.#state.entries.filter((e) => e.id !== id);
      let revoked = 0;
      for (const r of this.#state.issued) if (r.entryId === id && !r.revoked) { r.revoked = true; revoked++; }
      await this.#save();
      await this.#rebuildCrls();
      this.#emit({ kind: 'entry_changed', severity: 'info', message: `entry ${id} deleted (${entry.spiffeId}); ${revoked} SVID(s) revoked`, subject: entry.spiffeId, details: { action: 'delete', entry, revoked } });
      this.#notifyAll();
      return { entry, revoked };
    });
  }

  status(): Record<string, unknown> {
    const m = this.material.current;
    return {
      trustDomain: m.trustDomain, rootSerial: m.root.serialNumber.toLowerCase(), intermediateSerial: m.intermediate.cert.serialNumber.toLowerCase(),
      intermediateExpiresAt: Math.floor(m.intermediate.cert.notAfter.getTime() / 1000), entries: this.#state.entries.length,
      agents: this.#state.agents.length, issued: this.#state.issued.length, rootKeyOnline: m.rootCa !== undefined,
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.material.close();
    this.#subscribers.clear();
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** Runs state changes one at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #requireAgent(agentId: string, what: string): void {
    if (!this.#state.agents.some((a) => a.id === agentId)) {
      this.#emit({ kind: 'svid_refused', severity: 'warning', message: `${agentId} is not an attested agent (${what})`, subject: agentId, reason: 'not-an-agent' });
      throw flymeError('FLYME_PERMISSION_DENIED', `${agentId} is not an attested agent of this CA`);
    }
  }

  #entryFor(agentId: string, entryId: string): Entry {
    this.#requireAgent(agentId, 'mint');
    const entry = this.#state.entries.find((e) => e.id === entryId);
    if (!entry || entry.parentId !== agentId) {
      this.#emit({ kind: 'svid_refused', severity: 'warning', message: `${agentId} asked for entry ${entryId.slice(0, 64)}, which ${entry ? `belongs to ${entry.parentId}` : 'does not exist'}`, subject: agentId, reason: entry ? 'not-parent' : 'no-entry' });
      throw flymeError('FLYME_PERMISSION_DENIED', `entry ${entryId.slice(0, 64)} is not one of ${agentId}'s entries`);
    }
    return entry;
  }

  async #issue(spiffeId: string, pem: string, ttlSeconds: number, entryId: string | undefined, why: string): Promise<IssuedOut> {
    const mid = this.material.current.intermediate;
    let svid: IssuedSvid;
    try {
      svid = await issueSvid(mid, { spiffeId, csrPem: pem, ttlSeconds });
      while (this.#state.issued.some((r) => r.serial === svid.cert.serialNumber.toLowerCase())) svid = await issueSvid(mid, { spiffeId, csrPem: pem, ttlSeconds });
    } catch (err) {
      const e = err instanceof FlyMeError ? err : flymeError('FLYME_INTERNAL', String(err));
      this.#emit({ kind: 'svid_refused', severity: 'warning', message: `${spiffeId}: ${e.message}`, subject: spiffeId, reason: e.code });
      throw e;
    }
    await this.#record(svid, entryId);
    this.#emit({ kind: 'svid_issued', severity: 'info', message: `${why}: ${spiffeId} serial ${svid.cert.serialNumber.toLowerCase()}`, subject: spiffeId, details: { serial: svid.cert.serialNumber.toLowerCase(), notAfter: svid.cert.notAfter.toISOString(), ...(entryId ? { entryId } : {}) } });
    return { spiffeId, chain: [der(svid.cert), ...(mid.isRoot ? [] : [der(mid.cert)])], expiresAt: Math.floor(svid.cert.notAfter.getTime() / 1000) };
  }

  async #record(svid: IssuedSvid, entryId: string | undefined): Promise<void> {
    this.#state.issued.push({
      serial: svid.cert.serialNumber.toLowerCase(), spiffeId: svid.spiffeId.toString(), ...(entryId ? { entryId } : {}),
      issuer: this.material.current.intermediate.cert.serialNumber.toLowerCase(), notAfter: Math.floor(svid.cert.notAfter.getTime() / 1000),
    });
    await this.#save();
  }

  async #save(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.#state.issued = this.#state.issued.filter((r) => r.notAfter > now);
    this.#state.joinTokens = this.#state.joinTokens.filter((t) => (t.usedAt ?? t.expiresAt) > now - 86400);
    await saveState(caFiles(this.o.dataDir).state, this.#state);
  }

  /** One CRL per intermediate that issued a revoked, still valid certificate. */
  async #rebuildCrls(): Promise<void> {
    const m = this.material.current;
    const now = Math.floor(Date.now() / 1000);
    const crls: Uint8Array[] = [];
    for (const ca of [m.intermediate, ...m.retired]) {
      const serial = ca.cert.serialNumber.toLowerCase();
      const revoked = this.#state.issued.filter((r) => r.revoked && r.issuer === serial && r.notAfter > now).map((r) => r.serial);
      if (revoked.length > 0) crls.push(der(await createCrl(ca, revoked)));
    }
    this.#crls = crls;
    this.#crlsAt = Date.now();
  }

  async #checkRotation(): Promise<void> {
    const m = this.material.current;
    // Revocation lists say they are due again after a day: sign them afresh twice a day.
    if (this.#crls.length > 0 && Date.now() - this.#crlsAt > 12 * 3_600_000) {
      await this.#rebuildCrls();
      this.#notifyAll();
    }
    if (!dueForRotation(m.intermediate)) return;
    if (!m.rootCa) {
      if (Date.now() - this.#lastWarning > 3_600_000) {
        this.#lastWarning = Date.now();
        this.o.warn?.(`the intermediate expires at ${m.intermediate.cert.notAfter.toISOString()} and the root key is offline: run flyme ca rotate-intermediate --data-dir ${this.o.dataDir} --root-key FILE`);
      }
      return;
    }
    const next = await rotateIntermediate(this.o.dataDir, m.rootCa, this.o.intermediateHours ?? 168);
    await this.material.reload('rotation');
    this.#emit({ kind: 'ca_rotated', severity: 'info', message: `new intermediate ${next.cert.serialNumber.toLowerCase()} (expires ${next.cert.notAfter.toISOString()}); ${m.intermediate.cert.serialNumber.toLowerCase()} retired`, subject: `spiffe://${m.trustDomain}` });
  }

  #notify(agentId: string): void {
    const set = this.#subscribers.get(agentId);
    if (!set || set.size === 0) return;
    const s = this.agentState(agentId);
    for (const fn of set) fn(s);
  }

  #notifyAll(): void {
    for (const id of this.#subscribers.keys()) this.#notify(id);
  }

  #emit(e: Omit<SecurityEvent, 'source'>): void {
    this.#events.emit({ source: 'ca', ...e });
  }
}
