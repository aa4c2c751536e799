/**
 * FlyMe's one file watcher. It watches the *directories* of the files (editors and `mv` replace a file by
 * renaming a new one into place, which a watch on the old inode never sees), filters events by file name,
 * settles bursts with a debounce, and polls size/mtime/inode as a backstop where inotify is unavailable or
 * misses an event (network filesystems, bind mounts). Watch errors never throw: the poll keeps going.
 */
import { statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** Options for {@link watchFiles}. */
export interface WatchFilesOptions {
  /** Quiet time after the last event before `onChange` runs (default 100 ms). */
  debounceMs?: number;
  /** Stat polling period (default 2000 ms; 0 disables polling). */
  pollMs?: number;
}

/** A running watch; `close()` stops it (idempotent). */
export interface FileWatch {
  close(): void;
}

function stampOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Calls `onChange` (debounced) when any of `paths` is created, changed, replaced or removed.
 * @example const w = watchFiles(['/etc/flyme/policy.yaml'], () => store.reload('file change')); … w.close()
 */
export function watchFiles(paths: readonly string[], onChange: () => void, opts: WatchFilesOptions = {}): FileWatch {
  const files = [...new Set(paths.map((p) => resolve(p)))];
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const names = byDir.get(dirname(f)) ?? new Set<string>();
    names.add(basename(f));
    byDir.set(dirname(f), names);
  }
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const trigger = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closed) onChange();
    }, opts.debounceMs ?? 100);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const w = fsWatch(dir, { persistent: false }, (_event, name) => {
        // A null name (some platforms) may be any file: treat it as ours.
        if (name === null || names.has(name.toString())) trigger();
      });
      w.on('error', () => w.close()); // e.g. the directory was removed: the poll still notices changes
      watchers.push(w);
    } catch {
      // fs.watch unavailable here (ENOSPC for inotify watches, unsupported filesystem): poll only.
    }
  }
  let poller: NodeJS.Timeout | undefined;
  const every = opts.pollMs ?? 2000;
  if (every > 0) {
    let stamps = files.map(stampOf).join('|');
    poller = setInterval(() => {
      const now = files.map(stampOf).join('|');
      if (now !== stamps) {
        stamps = now;
        trigger();
      }
    }, every);
    poller.unref();
  }
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      for (const w of watchers) w.close();
    },
  };
}
