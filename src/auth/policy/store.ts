/**
 * PolicyStore: the current policy in FlyMe's one reloadable holder, replaced atomically on reload (method
 * call, SIGHUP or file change). A new file that does not validate is refused, the old policy stays, and a
 * `policy_reload_failed` security event is raised; a good one raises `policy_reloaded` and runs the
 * `onChange` listeners (the daemon re-reads token issuers and re-evaluates live connections there).
 */
import { Reloadable } from '../../files/reloadable.js';
import { ignoreSecurityEvents, type SecurityEventSink } from '../events.js';
import { Policy } from './policy.js';

export interface PolicyStoreOptions {
  events?: SecurityEventSink;
  /** Watch the file and reload on change (default true). */
  watch?: boolean;
  /** Debounce for file-change reloads (default 100 ms). */
  debounceMs?: number;
  /**
   * Runs on every freshly loaded policy before it is applied (e.g. opening its token issuers' key sets);
   * throwing refuses the whole file and keeps the old policy. Not called for the builtin policy.
   */
  prepare?(policy: Policy): void | Promise<void>;
}

export class PolicyStore {
  private constructor(readonly path: string | undefined, private readonly holder: Reloadable<Policy>) {}

  /** A store for a file (loaded now; throws if invalid) or, without a path, the builtin policy. */
  static async open(path: string | undefined, options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    const events = options.events ?? ignoreSecurityEvents;
    const holder = path
      ? await Reloadable.open(async () => {
        const p = Policy.load(path);
        await options.prepare?.(p);
        return p;
      }, {
        ...(options.watch === false ? {} : { watch: [path] }),
        debounceMs: options.debounceMs ?? 100,
        same: (a, b) => a.info.hash === b.info.hash,
      })
      : Reloadable.of(Policy.builtin());
    holder.onError((err, trigger) => events.emit({
      kind: 'policy_reload_failed', severity: 'critical', source: 'flymed', subject: path ?? 'builtin', decision: 'deny',
      reason: err.code, message: `policy reload (${trigger}) refused, keeping version ${holder.current.info.hash.slice(0, 12)}: ${err.message}`,
    }));
    holder.onUpdate((next, previous, trigger) => events.emit({
      kind: 'policy_reloaded', severity: 'info', source: 'flymed', subject: path ?? 'builtin', decision: 'allow',
      message: `policy reloaded (${trigger}): ${previous.info.hash.slice(0, 12)} → ${next.info.hash.slice(0, 12)}`,
      details: { trigger, hash: next.info.hash, previousHash: previous.info.hash },
    }));
    return new PolicyStore(path, holder);
  }

  get current(): Policy {
    return this.holder.current;
  }

  /** Re-read the file. Resolves with the policy in force afterwards, or throws (old policy kept). */
  reload(trigger = 'request'): Promise<Policy> {
    return this.holder.reload(trigger);
  }

  /** Runs after every applied reload, before the next one starts. Returns an unsubscribe function. */
  onChange(fn: (policy: Policy, previous: Policy, trigger: string) => void | Promise<void>): () => void {
    return this.holder.onUpdate(fn);
  }

  /** Stops watching the file. */
  close(): void {
    this.holder.close();
  }
}
