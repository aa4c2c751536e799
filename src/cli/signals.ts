/**
 * How a long-running command (`flyme ca serve`, `flyme agent`, `flyme registry serve`, …) stops on SIGTERM or
 * SIGINT: its `close` runs once — a second signal while it runs (an impatient Ctrl-C, systemd's stop sent twice)
 * does not close anything twice — and then the process exits 0, or 1 with the reason on stderr when `close` failed.
 */

/**
 * Installs the stop handlers and returns the stop function (for other reasons to stop, e.g. stdout closed).
 * Call it before the command prints its ready line: a signal sent the moment that line appears must find it.
 */
export function onStopSignals(name: string, close: () => Promise<void> | void): () => void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    Promise.resolve().then(close).then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`${name}: stopping failed: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return stop;
}
