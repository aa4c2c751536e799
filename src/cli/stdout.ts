/**
 * Long-running commands print until stopped; their reader may go away first (`flyme subscribe | head -1`, a
 * supervisor that closed the pipe). Node then emits EPIPE as an 'error' event on process.stdout, which with no
 * listener kills the process with a stack trace — for `flyme agent`, a root daemon, that is an outage.
 */

/** Handles every stdout write error; `fn` runs once, at the first one (the output is gone for good). */
export function onStdoutClosed(fn: () => void): void {
  let called = false;
  process.stdout.on('error', () => {
    if (called) return;
    called = true;
    fn();
  });
}
