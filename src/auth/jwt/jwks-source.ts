/**
 * Where a verifier gets its keys. A static set, or a JWKS file that is reloaded when it changes
 * (src/files: directory watch, so atomic rename-replacement is seen, plus stat polling as a backstop).
 * An invalid new file is refused and the previous key set stays in use.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { flymeError, type FlyMeError } from '../../errors.js';
import { Reloadable } from '../../files/reloadable.js';
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
 * A JWKS file, watched and hot-reloaded through FlyMe's one reloadable holder. Rotation: add the new key to
 * the file, switch the issuer to it, and remove the old key once its tokens have expired — no restart.
 *
 * @example
 * const source = await JwksFileSource.open('/etc/flyme/jwks.json', { algorithms: ['ES256'],
 *   onInvalid: (e) => log.warn(e.message) })
 * const verifier = new TokenVerifier({ keys: source, audience: 'flymed' })
 */
export class JwksFileSource implements KeySource {
  private constructor(readonly path: string, private readonly holder: Reloadable<{ keys: VerificationKeySet; hash: string }>) {}

  /**
   * Loads the file (FLYME_INVALID_CONFIG if it is missing or invalid) and starts watching it.
   *
   * @example
   * const source = await JwksFileSource.open('jwks.json', { algorithms: ['ES256', 'EdDSA'] })
   */
  static async open(path: string, options: JwksFileSourceOptions): Promise<JwksFileSource> {
    const holder = await Reloadable.open(() => load(path, options.algorithms), {
      watch: [path], debounceMs: 25, pollMs: options.pollIntervalMs ?? 2000,
      same: (a, b) => a.hash === b.hash,
    });
    holder.onUpdate((next) => options.onReload?.(next.keys.kids));
    holder.onError((e) => options.onInvalid?.(e));
    return new JwksFileSource(path, holder);
  }

  /** The key set in use. */
  current(): VerificationKeySet {
    return this.holder.current.keys;
  }

  /**
   * Re-reads the file now. Resolves true when a new key set was installed, false when the
   * content is unchanged or the new file was refused (the old set stays; onInvalid is called).
   *
   * @example
   * await source.reload()
   */
  async reload(): Promise<boolean> {
    const before = this.holder.current;
    try {
      return (await this.holder.reload('request')) !== before;
    } catch {
      return false;
    }
  }

  /** Stops watching and polling. */
  close(): void {
    this.holder.close();
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

async function load(path: string, algorithms: readonly JwtAlgorithm[]) {
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
  return { keys, hash: createHash('sha256').update(text).digest('hex') };
}
