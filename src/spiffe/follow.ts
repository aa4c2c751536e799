/** Following a server stream for as long as wanted: reopened with backoff whenever it ends. */

/**
 * Opens the stream with `open` and reopens it after it ends (0.5 s, doubling to 30 s; reset by any message)
 * until the returned function is called. `onEnd` hears each end (with its error, if any).
 */
export function followStream<T, E>(
  open: (onMessage: (m: T) => void, onEnd: (err?: E) => void) => () => void,
  onMessage: (m: T) => void,
  onEnd: (err: E | undefined, retryInMs: number) => void = () => undefined,
): () => void {
  let stopped = false;
  let cancel: () => void = () => undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoff = 500;
  const start = (): void => {
    if (stopped) return;
    cancel = open((m) => { backoff = 500; onMessage(m); }, (err) => {
      if (stopped) return;
      onEnd(err, backoff);
      retry = setTimeout(start, backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, 30_000);
    });
  };
  start();
  return () => {
    stopped = true;
    clearTimeout(retry);
    cancel();
  };
}
