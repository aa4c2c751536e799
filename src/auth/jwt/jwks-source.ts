/**
 * Where a verifier gets its keys. A static set, or a JWKS file that is reloaded when it
 * changes (fs.watch on the directory, so atomic rename-replacement is seen, plus stat polling
 * as a backstop). An invalid new file is refused and the previous key set stays in use.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { FlyMeError, flymeError } from '../../errors.js';
import type { JwtAlgorithm } from './algorithms.js';
import { VerificationKeySet } from './verification-keys.js';

/** Anything that can hand the verifier its current key set. */
export interface KeySource {
  current(): VerificationKeySet;
  close?(): void;
}

/** Options for {@link JwksFileSource.open}. */
export interface JwksFileSourceOptions {
  algorithms: readonly JwtAlgorithm[];
  /** Stat polling period in ms (default 2000; 0 disables polling, leaving fs.watch only). */
  pollIntervalMs?: number;
  /** Called after a new key set was installed. */
  onReload?: (kids: readonly string[]) => void;
  /** Called when a changed file was refused; the old key set stays. */
  onInvalid?: (error: FlyMeError) => void;
}

/**
 * A JWKS file, watched and hot-reloaded. Rotation: add the new key to the file, switch the
 * issuer to it, and remove the old key once its tokens have expired — no restart.
 *
 * @example
 * const source = await JwksFileSource.open('/etc/flyme/jwks.json', { algorithms: ['ES256'],
 *   onInvalid: (e) => log.warn(e.message) })
 * const verifier = new TokenVerifier({ keys: source, audience: 'flymed' })
 */
export class JwksFileSource implements KeySource {
  readonly path: string;
  #keys: VerificationKeySet;
  #hash: string;
  #stamp = '';
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #closed = false;
  #reloading: Promise<boolean> | undefined;
  readonly #options: JwksFileSourceOptions;

  private constructor(path: string, keys: VerificationKeySet, hash: string, options: JwksFileSourceOptions) {
    this.path = path;
    this.#keys = keys;
    this.#hash = hash;
    this.#options = options;
  }

  /**
   * Loads the file (FLYME_INVALID_CONFIG if it is missing or invalid) and starts watching it.
   *
   * @example
   * const source = await JwksFileSource.open('jwks.json', { algorithms: ['ES256', 'EdDSA'] })
   */
  static async open(path: string, options: JwksFileSourceOptions): Promise<JwksFileSource> {
    const { keys, hash, stamp } = await load(path, options.algorithms);
    const source = new JwksFileSource(path, keys, hash, options);
    source.#stamp = stamp;
    source.#start();
    return source;
  }

  /** The key set in use. */
  current(): VerificationKeySet {
    return this.#keys;
  }

  /**
   * Re-reads the file now. Resolves true when a new key set was installed, false when the
   * content is unchanged or the new file was refused (the old set stays; onInvalid is called).
   *
   * @example
   * await source.reload()
   */
  reload(): Promise<boolean> {
    // A change seen while a read is in flight gets its own read afterwards (never lost).
    const run = (this.#reloading ?? Promise.resolve(false)).then(() => this.#reloadOnce());
    this.#reloading = run.finally(() => {
      if (this.#reloading === tail) this.#reloading = undefined;
    });
    const tail = this.#reloading;
    return run;
  }

  /** Stops watching and polling. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
  }

  async #reloadOnce(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const next = await load(this.path, this.#options.algorithms);
      this.#stamp = next.stamp;
      if (next.hash === this.#hash) return false;
      this.#keys = next.keys;
      this.#hash = next.hash;
      this.#options.onReload?.(next.keys.kids);
      return true;
    } catch (err) {
      const error = err instanceof FlyMeError ? err : flymeError('FLYME_INVALID_CONFIG', `cannot reload ${this.path}`, { path: this.path }, err);
      this.#options.onInvalid?.(error);
      return false;
    }
  }

  #start(): void {
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file.toString() === name) this.#schedule();
      });
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // fs.watch unavailable (some network filesystems): polling still works.
    }
    const every = this.#options.pollIntervalMs ?? 2000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.#poll(), every);
      this.#timer.unref();
    }
  }

  #schedule(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    // Editors and rename-replacement produce bursts of events; settle before reading.
    this.#debounce = setTimeout(() => void this.reload(), 25);
    this.#debounce.unref();
  }

  async #poll(): Promise<void> {
    const stamp = await stampOf(this.path).catch(() => '');
    if (stamp !== '' && stamp !== this.#stamp) await this.reload();
  }
}

/**
 * A fixed key set (tests, embedded configurations).
 *
 * @example
 * const keys = staticKeySource({ keys: [publicJwk] }, ['ES256'])
 */
export function staticKeySource(jwks: unknown, algorithms: readonly JwtAlgorithm[]): KeySource {
  const keys = VerificationKeySet.fromJwks(jwks, algorithms);
  return { current: () => keys };
}

async function stampOf(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

async function load(path: string, algorithms: readonly JwtAlgorithm[]) {
  const stamp = await stampOf(path).catch(() => '');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read JWKS file ${path}`, { path }, cause);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw flymeError('FLYME_INVALID_CONFIG', `JWKS file ${path} is not valid JSON`, { path });
  }
  const keys = VerificationKeySet.fromJwks(body, algorithms);
  return { keys, stamp, hash: createHash('sha256').update(text).digest('hex') };
}
