/**
 * PolicyStore: the current policy, replaced atomically on reload (method call, SIGHUP or file change).
 * A new file that does not validate is refused, the old policy stays, and a `policy_reload_failed`
 * security event is raised; a good one raises `policy_reloaded` and notifies listeners.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { FlyMeError } from '../../errors.js';
import { ignoreSecurityEvents, type SecurityEventSink } from '../events.js';
import { Policy } from './policy.js';

export interface PolicyStoreOptions {
  events?: SecurityEventSink;
  /** Called after a successful reload with the new policy. */
  onChange?(policy: Policy, previous: Policy): void;
  /** Debounce for file-change reloads (default 100 ms). */
  debounceMs?: number;
}

export class PolicyStore {
  #current: Policy;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #events: SecurityEventSink;

  private constructor(readonly path: string | undefined, initial: Policy, private readonly options: PolicyStoreOptions) {
    this.#current = initial;
    this.#events = options.events ?? ignoreSecurityEvents;
  }

  /** A store for a file (loaded now; throws if invalid) or, without a path, the builtin policy. */
  static open(path: string | undefined, options: PolicyStoreOptions = {}): PolicyStore {
    return new PolicyStore(path, path ? Policy.load(path) : Policy.builtin(), options);
  }

  get current(): Policy {
    return this.#current;
  }

  /** Re-read the file. Resolves with the new policy's info, or throws (old policy kept). */
  reload(trigger = 'request'): Policy {
    if (!this.path) return this.#current;
    const previous = this.#current;
    let next: Policy;
    try {
      next = Policy.load(this.path);
    } catch (e) {
      const err = e instanceof FlyMeError ? e : new FlyMeError('FLYME_INVALID_CONFIG', String(e));
      this.#events.emit({
        kind: 'policy_reload_failed', severity: 'critical', source: 'flymed', subject: this.path, decision: 'deny',
        reason: err.code, message: `policy reload (${trigger}) refused, keeping version ${previous.info.hash.slice(0, 12)}: ${err.message}`,
      });
      throw err;
    }
    if (next.info.hash === previous.info.hash) return previous;
    this.#current = next;
    this.#events.emit({
      kind: 'policy_reloaded', severity: 'info', source: 'flymed', subject: this.path, decision: 'allow',
      message: `policy reloaded (${trigger}): ${previous.info.hash.slice(0, 12)} → ${next.info.hash.slice(0, 12)}`,
      details: { trigger, hash: next.info.hash, previousHash: previous.info.hash },
    });
    this.options.onChange?.(next, previous);
    return next;
  }

  /**
   * Reload when the file changes (watches its directory, so editors that rename-into-place work).
   * `reload` is what a change triggers (default: this store's reload); a daemon passes its own, which
   * also refreshes what depends on the policy.
   */
  watch(reload: (trigger: string) => void = (t) => { this.reload(t); }): void {
    if (!this.path || this.#watcher) return;
    const name = basename(this.path);
    this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        try {
          reload('file change');
        } catch {
          // reported as a security event; the old policy stays
        }
      }, this.options.debounceMs ?? 100);
      this.#timer.unref();
    });
    this.#watcher.on('error', () => this.stopWatching());
  }

  stopWatching(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
