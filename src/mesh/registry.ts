/**
 * The service registry (no transport): records `name → address:port (+ SNI)` registered by the name's owner
 * (ownership.ts; the caller's SPIFFE ID is given by the transport from the verified peer certificate),
 * expiring after a TTL unless renewed. Every change and every refusal goes to the security event sink (the
 * registry's signed audit log); the state is written atomically (0600) after every change, before it is
 * acknowledged; expired records, and records whose owner the policy no longer names, are dropped when it is
 * loaded, and when the policy is replaced (setOwnership: reported as DEREGISTERED, audited as revoked).
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ignoreSecurityEvents, type SecurityEventSink } from '../auth/events.js';
import { FlyMeError, flymeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { readStateFile } from '../files/state-file.js';
import { checkAddress, checkName, checkPort } from './names.js';
import type { Ownership } from './ownership.js';

export interface RegistryRecord {
  name: string;
  address: string;
  port: number;
  sni: string;
  owner: string;
  /** Unix milliseconds. */
  registeredAt: number;
  expiresAt: number;
}

export type ChangeKind = 'REGISTERED' | 'DEREGISTERED' | 'EXPIRED';
export type ChangeListener = (kind: ChangeKind, record: RegistryRecord) => void;

export interface RegistryOptions {
  zone: string;
  ownership: Ownership;
  /** JSON state file (0600); without it the registry forgets everything on restart. */
  statePath?: string;
  /** Lifetime of a registration without renewal (default 30 s). */
  ttlSeconds?: number;
  /** Most names (default 1024). */
  maxNames?: number;
  /** Most records per name (default 16). */
  maxRecordsPerName?: number;
  events?: SecurityEventSink;
  /** How often expired records are removed (default 500 ms; lookups never return them anyway). */
  sweepMs?: number;
}

export interface RegisterInput { name: string; address: string; port: number; sni?: string }
export interface RecordKey { name: string; address?: string; port?: number }

const RecordT = Type.Object({
  name: Type.String(), address: Type.String(), port: Type.Integer(), sni: Type.String(), owner: Type.String(),
  registeredAt: Type.Integer(), expiresAt: Type.Integer(),
});
const StateT = Type.Object({ version: Type.Literal(1), zone: Type.String(), records: Type.Array(RecordT, { maxItems: 1_000_000 }) });
const checkState = TypeCompiler.Compile(StateT);
const keyOf = (r: { address: string; port: number }) => `${r.address}|${r.port}`;

export class Registry {
  readonly zone: string;
  readonly ttlSeconds: number;
  readonly #names = new Map<string, Map<string, RegistryRecord>>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #events: SecurityEventSink;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #ownership: Ownership;

  private constructor(private readonly o: RegistryOptions) {
    this.zone = o.zone;
    this.ttlSeconds = o.ttlSeconds ?? 30;
    this.#events = o.events ?? ignoreSecurityEvents;
    this.#ownership = o.ownership;
  }

  static async open(o: RegistryOptions): Promise<Registry> {
    const r = new Registry(o);
    if (o.statePath) {
      r.#load(o.statePath);
      await r.#save();
    }
    r.#timer = setInterval(() => r.sweep(), o.sweepMs ?? 500);
    r.#timer.unref();
    return r;
  }

  // ---- changes (the caller is the verified peer's SPIFFE ID, or undefined) ----------------------------------

  register(caller: string | undefined, input: RegisterInput): Promise<RegistryRecord> {
    return this.#guard(caller, 'register', input.name, async () => {
      const name = checkName(input.name, this.zone);
      const sni = input.sni ? checkName(input.sni, this.zone, 'sni') : name;
      const owner = this.#ownership.assertOwner(caller, name);
      if (sni !== name) this.#ownership.assertOwner(caller, sni);
      const address = checkAddress(input.address);
      const port = checkPort(input.port);
      const records = this.#names.get(name);
      const key = keyOf({ address, port });
      if (!records && this.#names.size >= (this.o.maxNames ?? 1024)) {
        throw flymeError('FLYME_REGISTRY_FULL', `the registry holds its maximum of ${this.o.maxNames ?? 1024} names`, { limit: 'names' });
      }
      if (records && !records.has(key) && records.size >= (this.o.maxRecordsPerName ?? 16)) {
        throw flymeError('FLYME_REGISTRY_FULL', `${name} already has its maximum of ${this.o.maxRecordsPerName ?? 16} records`, { limit: 'records-per-name' });
      }
      const now = Date.now();
      const rec: RegistryRecord = { name, address, port, sni, owner, registeredAt: now, expiresAt: now + this.ttlSeconds * 1000 };
      const map = records ?? new Map<string, RegistryRecord>();
      map.set(key, rec);
      this.#names.set(name, map);
      await this.#save();
      this.#changed('REGISTERED', rec, `${owner} registered ${name} at ${address} port ${port}${sni !== name ? ` (sni ${sni})` : ''}`);
      return rec;
    });
  }

  renew(caller: string | undefined, k: RecordKey): Promise<RegistryRecord> {
    return this.#guard(caller, 'renew', k.name, async () => {
      const name = checkName(k.name, this.zone);
      this.#ownership.assertOwner(caller, name);
      const key = keyOf({ address: checkAddress(k.address ?? ''), port: checkPort(k.port ?? 0) });
      const rec = this.#names.get(name)?.get(key);
      if (!rec || rec.expiresAt <= Date.now()) throw flymeError('FLYME_NOT_FOUND', `${name} has no live record at ${k.address} port ${k.port}: register it again`, { name });
      rec.expiresAt = Date.now() + this.ttlSeconds * 1000;
      await this.#save();
      return rec;
    });
  }

  deregister(caller: string | undefined, k: RecordKey): Promise<number> {
    return this.#guard(caller, 'deregister', k.name, async () => {
      const name = checkName(k.name, this.zone);
      this.#ownership.assertOwner(caller, name);
      const records = this.#names.get(name);
      const gone: RegistryRecord[] = [];
      if (records) {
        if (k.address) {
          const key = keyOf({ address: checkAddress(k.address), port: checkPort(k.port ?? 0) });
          const r = records.get(key);
          if (r) gone.push(r);
        } else gone.push(...records.values());
        for (const r of gone) records.delete(keyOf(r));
        if (records.size === 0) this.#names.delete(name);
      }
      if (gone.length === 0) return 0;
      await this.#save();
      for (const r of gone) this.#changed('DEREGISTERED', r, `${caller} deregistered ${name} at ${r.address} port ${r.port}`);
      return gone.length;
    });
  }

  /**
   * Replaces the ownership rules (a policy reload), after the changes already under way. Every record whose
   * owner the new rules no longer name (for its name or its SNI) is removed: saved, reported to watchers as
   * DEREGISTERED and audited (`registration_changed`, reason `revoked`). Returns the removed records.
   */
  setOwnership(ownership: Ownership): Promise<RegistryRecord[]> {
    const run = this.#chain.then(async () => {
      this.#ownership = ownership;
      const gone: RegistryRecord[] = [];
      for (const [name, m] of this.#names) {
        for (const [k, r] of m) if (!this.#owns(r)) { m.delete(k); gone.push(r); }
        if (m.size === 0) this.#names.delete(name);
      }
      if (gone.length === 0) return gone;
      try {
        await this.#save();
      } finally {
        // already gone from lookups: watchers and the audit log learn it even when the state file could not be written
        for (const r of gone) this.#changed('DEREGISTERED', r, `${r.name} at ${r.address} port ${r.port} removed: ${ownership.source} no longer names its owner ${r.owner}${r.sni !== r.name ? ` (for the name or its sni ${r.sni})` : ''}`, 'revoked');
      }
      return gone;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  /** Live records of `name` (already canonical), oldest registration first. */
  lookup(name: string): RegistryRecord[] {
    const now = Date.now();
    return [...(this.#names.get(name)?.values() ?? [])].filter((r) => r.expiresAt > now);
  }

  /** Every live record. */
  all(): RegistryRecord[] {
    const now = Date.now();
    return [...this.#names.values()].flatMap((m) => [...m.values()]).filter((r) => r.expiresAt > now);
  }

  /** True when `name` has live records. */
  has(name: string): boolean {
    return this.lookup(name).length > 0;
  }

  /** Calls `listener` on every change until the returned function is called. */
  watch(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get watchers(): number {
    return this.#listeners.size;
  }

  /** Removes expired records (reported as EXPIRED). Called by a timer. */
  sweep(): void {
    const now = Date.now();
    const gone: RegistryRecord[] = [];
    for (const [name, m] of this.#names) {
      for (const [k, r] of m) if (r.expiresAt <= now) { m.delete(k); gone.push(r); }
      if (m.size === 0) this.#names.delete(name);
    }
    if (gone.length === 0) return;
    this.#chain = this.#chain.then(() => this.#save()).catch(() => undefined);
    for (const r of gone) this.#changed('EXPIRED', r, `${r.name} at ${r.address} port ${r.port} (owner ${r.owner}) expired without renewal`);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  // ---- internals ------------------------------------------------------------------------------------------

  /** Runs one change at a time; a refusal becomes a `registration_refused` event. */
  #guard<T>(caller: string | undefined, action: string, name: unknown, fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn).catch((err: unknown) => {
      const code = err instanceof FlyMeError ? err.code : 'FLYME_INTERNAL';
      this.#events.emit({
        kind: 'registration_refused', severity: code === 'FLYME_PERMISSION_DENIED' ? 'warning' : 'info', source: 'registry', decision: 'deny',
        message: `${action} refused: ${err instanceof Error ? err.message : String(err)}`, reason: code,
        subject: typeof name === 'string' ? name.slice(0, 253) : '', ...(caller ? { principal: { spiffeId: caller } } : {}),
      });
      throw err;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #changed(kind: ChangeKind, r: RegistryRecord, message: string, reason: string = kind.toLowerCase()): void {
    this.#events.emit({
      kind: 'registration_changed', severity: reason === 'revoked' ? 'warning' : 'info', source: 'registry', decision: 'allow', message, subject: r.name, reason,
      details: { address: r.address, port: r.port, sni: r.sni, owner: r.owner, expiresAt: new Date(r.expiresAt).toISOString() },
    });
    for (const l of this.#listeners) {
      try {
        l(kind, r);
      } catch {
        // a listener must not break the registry
      }
    }
  }

  #load(path: string): void {
    const data = readStateFile(path, checkState, { what: 'registry state', advice: 'remove it to start empty' });
    if (!data) return; // first start
    if (data.zone !== this.zone) throw flymeError('FLYME_INVALID_CONFIG', `registry state ${path} is for zone ${data.zone}, not ${this.zone}`, { path });
    const now = Date.now();
    for (const r of data.records) {
      if (r.expiresAt <= now) continue;
      // the policy may have changed while the registry was down: a record whose owner no longer owns its name
      // (or its SNI) is not brought back
      if (!this.#owns(r)) continue;
      let m = this.#names.get(r.name);
      if (!m) this.#names.set(r.name, (m = new Map()));
      m.set(keyOf(r), r);
    }
  }

  /** True when the current rules name the record's owner for its name and its SNI. */
  #owns(r: RegistryRecord): boolean {
    return this.#ownership.owners(r.name).includes(r.owner) && this.#ownership.owners(r.sni).includes(r.owner);
  }

  async #save(): Promise<void> {
    if (!this.o.statePath) return;
    const state = { version: 1, zone: this.zone, records: this.all() };
    await writeFileAtomic(this.o.statePath, `${JSON.stringify(state)}\n`, { mode: 0o600, overwrite: true });
  }
}
