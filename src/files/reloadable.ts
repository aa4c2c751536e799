/**
 * Reloadable<T>: FlyMe's one holder of reloadable state (TLS credentials, trust bundles, JWKS, policy).
 * The current value is swapped atomically; an update that fails to load or validate is refused and the old
 * value stays (ghostunnel's certloader rule), with the error handed to `onError` listeners. Updates run
 * one at a time in order; listeners of an update finish before the next update starts.
 */
import { FlyMeError, flymeError } from '../errors.js';
import { watchFiles, type FileWatch, type WatchFilesOptions } from './watch.js';

export type UpdateListener<T> = (next: T, previous: T, trigger: string) => void | Promise<void>;
export type ErrorListener = (error: FlyMeError, trigger: string) => void;

/** Options for {@link Reloadable.open}. */
export interface ReloadableOptions<T> extends WatchFilesOptions {
  /** Files whose change triggers `reload('file change')`. */
  watch?: readonly string[];
  /** True when a freshly loaded value is the same as the current one (no update is announced). */
  same?(a: T, b: T): boolean;
}

function asFlyMeError(err: unknown): FlyMeError {
  return err instanceof FlyMeError ? err : flymeError('FLYME_INVALID_CONFIG', (err as Error)?.message ?? String(err), undefined, err);
}

export class Reloadable<T> {
  #current: T;
  #chain: Promise<unknown> = Promise.resolve();
  #watch: FileWatch | undefined;
  #closed = false;
  readonly #updates = new Set<UpdateListener<T>>();
  readonly #errors = new Set<ErrorListener>();

  private constructor(initial: T, private readonly load: ((trigger: string) => T | Promise<T>) | undefined, private readonly opts: ReloadableOptions<T>) {
    this.#current = initial;
  }

  /**
   * Loads the first value (throws when it is invalid: fail closed at startup) and, with `watch`, reloads
   * when one of those files changes.
   * @example const policy = await Reloadable.open(() => Policy.load(path), { watch: [path] })
   */
  static async open<T>(load: (trigger: string) => T | Promise<T>, opts: ReloadableOptions<T> = {}): Promise<Reloadable<T>> {
    const r = new Reloadable<T>(await load('initial'), load, opts);
    if (opts.watch && opts.watch.length > 0) {
      r.#watch = watchFiles(opts.watch, () => { r.reload('file change').catch(() => undefined); }, opts);
    }
    return r;
  }

  /** A holder whose updates are pushed with {@link update} (e.g. from the Workload API); `reload` is a no-op. */
  static of<T>(initial: T, opts: Pick<ReloadableOptions<T>, 'same'> = {}): Reloadable<T> {
    return new Reloadable<T>(initial, undefined, opts);
  }

  /** The value in force. */
  get current(): T {
    return this.#current;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Loads again. Resolves with the value in force afterwards; rejects (old value kept, error listeners
   * told) when the new one is invalid.
   */
  reload(trigger = 'request'): Promise<T> {
    const load = this.load;
    if (!load) return Promise.resolve(this.#current);
    return this.update(() => load(trigger), trigger);
  }

  /**
   * Installs what `produce` returns, after the updates queued before it. `produce` throwing means refused:
   * the old value stays and the error goes to `onError` listeners (and to the caller).
   */
  update(produce: () => T | Promise<T>, trigger: string): Promise<T> {
    const run = this.#chain.then(async () => {
      if (this.#closed) return this.#current;
      let next: T;
      try {
        next = await produce();
      } catch (err) {
        const e = asFlyMeError(err);
        for (const fn of this.#errors) fn(e, trigger);
        throw e;
      }
      const previous = this.#current;
      if (next === previous || this.opts.same?.(next, previous)) return previous;
      this.#current = next;
      for (const fn of this.#updates) {
        try {
          await fn(next, previous, trigger);
        } catch (err) {
          // A listener's failure does not undo the update; it is reported like any other.
          for (const e of this.#errors) e(asFlyMeError(err), `${trigger} (listener)`);
        }
      }
      return next;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Called after each installed update, in order. Returns an unsubscribe function. */
  onUpdate(fn: UpdateListener<T>): () => void {
    this.#updates.add(fn);
    return () => this.#updates.delete(fn);
  }

  /** Called for each refused update (the old value stayed). Returns an unsubscribe function. */
  onError(fn: ErrorListener): () => void {
    this.#errors.add(fn);
    return () => this.#errors.delete(fn);
  }

  /** Stops watching; later updates are ignored. */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
  }
}
