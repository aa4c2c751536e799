/**
 * AuditLog: the append-only, hash-chained, Ed25519-signed JSONL writer. One writer per file (a lock
 * file refuses a second daemon), appends serialised through one queue and written in batches with
 * O_APPEND + fdatasync, a bounded queue (losses are counted and recorded once the disk catches up),
 * rotation by size with the chain continuing across files.
 *
 * @example
 * const log = await AuditLog.open({ path: '/var/lib/flyme/audit.log', keyPath: '/var/lib/flyme/audit-key.pem' })
 * log.emit({ kind: 'kill', severity: 'critical', source: 'flymed', message: 'kill switch engaged' })
 * await log.close()
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SecurityEvent, SecurityEventSink } from '../auth/events.js';
import { flymeError } from '../errors.js';
import { parseProcStatStartTime } from '../transport/peercred.js';
import { auditFileSet } from './files.js';
import { loadOrCreateAuditKey } from './key.js';
import { auditKeyFingerprint } from './pin.js';
import { GENESIS, checkLine, lineHash, recordFor, signRecord } from './record.js';

/** Logs open in this process (the lock file's pid cannot tell two writers of one process apart). */
const OPEN = new Set<string>();

export interface AuditLogOptions {
  path: string;
  keyPath: string;
  /** Rotate when the file would grow past this (default 10 MiB). */
  rotateBytes?: number;
  /** Rotated files kept besides the current one (default 5). */
  keep?: number;
  /** Records waiting for the disk before new ones are dropped and counted (default 10 000). */
  maxQueue?: number;
}

export interface AuditLogState {
  file: string;
  seq: number;
  lastHash: string;
  dropped: number;
  publicKey: string;
  /** `sha256:<hex>` of the public key: record it elsewhere and verify with `flyme audit-log verify --fingerprint`. */
  keyFingerprint: string;
}

export class AuditLog implements SecurityEventSink {
  #queue: SecurityEvent[] = [];
  #seq: number;
  #prev: string;
  #size: number;
  #dropped = 0;
  #droppedUnrecorded = 0;
  #writing: Promise<void> | undefined;
  #closed = false;
  readonly #rotateBytes: number;
  readonly #keep: number;
  readonly #maxQueue: number;
  readonly keyFingerprint: string;

  private constructor(readonly options: AuditLogOptions, private fh: FileHandle, private readonly key: KeyObject, readonly publicKeyPem: string, tail: { seq: number; prev: string; size: number }) {
    this.#seq = tail.seq;
    this.#prev = tail.prev;
    this.#size = tail.size;
    this.#rotateBytes = options.rotateBytes ?? 10 * 1024 * 1024;
    this.#keep = options.keep ?? 5;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.keyFingerprint = auditKeyFingerprint(createPublicKey(publicKeyPem));
  }

  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const { path } = options;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    } catch (e) {
      throw flymeError('FLYME_INVALID_CONFIG', `cannot create the audit log directory ${dirname(path)}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if (OPEN.has(resolve(path))) throw flymeError('FLYME_ADDRESS_IN_USE', `another process (pid ${process.pid}, this one) writes this audit log (${path}); one writer per log`);
    await takeLock(`${path}.lock`);
    OPEN.add(resolve(path));
    try {
      const key = await loadOrCreateAuditKey(options.keyPath);
      const tail = await readTail(path, key.publicKey);
      const fh = await open(path, 'a', 0o640);
      return new AuditLog(options, fh, key.privateKey, key.publicPem, tail);
    } catch (e) {
      OPEN.delete(resolve(path));
      await unlink(`${path}.lock`).catch(() => {});
      throw e;
    }
  }

  /** Records waiting for the disk (not counting a batch being written). */
  get queued(): number {
    return this.#queue.length;
  }

  get state(): AuditLogState {
    return { file: this.options.path, seq: this.#seq, lastHash: this.#prev, dropped: this.#dropped, publicKey: this.publicKeyPem, keyFingerprint: this.keyFingerprint };
  }

  /** Queue an event (never throws, never blocks). */
  emit(event: SecurityEvent): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxQueue) {
      this.#dropped++;
      this.#droppedUnrecorded++;
      return;
    }
    this.#queue.push({ ...event, time: event.time ?? new Date().toISOString() });
    this.#writing ??= this.#drain();
  }

  /** Resolves when everything queued so far is on disk. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.fh.close();
    await unlink(`${this.options.path}.lock`).catch(() => {});
    OPEN.delete(resolve(this.options.path));
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        if (this.#droppedUnrecorded > 0) {
          batch.unshift({ kind: 'audit_dropped', severity: 'critical', source: 'audit', message: `${this.#droppedUnrecorded} audit records were dropped: the disk did not keep up`, details: { dropped: this.#droppedUnrecorded } });
          this.#droppedUnrecorded = 0;
        }
        let out = '';
        for (const event of batch) {
          const line = signRecord(recordFor(event, this.#seq + 1, this.#prev), this.key);
          const bytes = Buffer.byteLength(line) + 1;
          if (this.#size > 0 && this.#size + Buffer.byteLength(out) + bytes > this.#rotateBytes) {
            await this.#write(out);
            out = '';
            await this.#rotate();
          }
          out += `${line}\n`;
          this.#seq++;
          this.#prev = lineHash(line);
        }
        await this.#write(out);
      }
    } catch (e) {
      process.emitWarning(`flyme audit log write failed: ${(e as Error).message}`);
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(text: string): Promise<void> {
    if (!text) return;
    await this.fh.write(text);
    await this.fh.datasync();
    this.#size += Buffer.byteLength(text);
  }

  async #rotate(): Promise<void> {
    const { path } = this.options;
    await this.fh.close();
    for (let n = this.#keep; n >= 1; n--) {
      const from = n === 1 ? path : `${path}.${n - 1}`;
      if (n === this.#keep) await unlink(`${path}.${n}`).catch(() => {});
      await rename(from, `${path}.${n}`).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    this.fh = await open(path, 'a', 0o640);
    this.#size = 0;
  }
}

/** seq/prev/size from the newest record of the set; a bad last record refuses to continue the chain. */
async function readTail(path: string, publicKey: KeyObject): Promise<{ seq: number; prev: string; size: number }> {
  const files = auditFileSet(path);
  for (let i = files.length - 1; i >= 0; i--) {
    const text = await readFile(files[i]!, 'utf8');
    const size = files[i] === path ? Buffer.byteLength(text) : 0;
    if (text.length === 0) continue;
    if (!text.endsWith('\n')) throw broken(files[i]!, 'its last line is incomplete (a write was cut off)');
    const lines = text.slice(0, -1).split('\n');
    const last = lines[lines.length - 1]!;
    const c = checkLine(last, publicKey);
    if (!c.ok) throw broken(files[i]!, c.reason);
    return { seq: c.record.seq, prev: lineHash(last), size };
  }
  const size = await stat(path).then((s) => s.size, () => 0);
  return { seq: 0, prev: GENESIS, size };
}

function broken(file: string, why: string) {
  return flymeError('FLYME_INVALID_CONFIG', `the audit log ${file} cannot be continued: ${why}. Run \`flyme audit-log verify\` to see what is wrong, then move the files aside to start a new chain`, { file });
}

/**
 * A lock file holding the writer's pid and process start time; a stale one is replaced: the pid is gone, is a
 * zombie, or now names another process (a different start time: the pid was reused after a crash or reboot).
 */
async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid} ${processStart(process.pid) ?? ''}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw flymeError('FLYME_INVALID_CONFIG', `cannot create ${lockPath}: ${(e as NodeJS.ErrnoException).code}`);
    }
    const [pidText, startText] = (await readFile(lockPath, 'utf8').catch(() => '')).trim().split(/\s+/);
    const pid = Number(pidText);
    const sameProcess = startText === undefined || startText === '' || String(processStart(pid)) === startText;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) && sameProcess) {
      throw flymeError('FLYME_ADDRESS_IN_USE', `another process (pid ${pid}) writes this audit log (${lockPath}); one writer per log`);
    }
    await unlink(lockPath).catch(() => {});
  }
  throw flymeError('FLYME_INVALID_CONFIG', `cannot take the audit log lock ${lockPath}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return line.charAt(line.lastIndexOf(')') + 2) !== 'Z'; // a zombie writes nothing
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** Start time of `pid` in clock ticks since boot (Linux), or undefined. */
function processStart(pid: number): number | undefined {
  try {
    return parseProcStatStartTime(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}
