/**
 * The hand-written baselines' request loop: every complete NDJSON line of `buf` answered, as a user would write
 * it (JSON.parse per line, one JSON.stringify per answer). bench/server.ts's net and tls servers and
 * bench/rpc-path.ts run this very code. Returns the answers and the incomplete rest.
 */
export function answerLines(buf: string): [out: string, rest: string] {
  let nl: number;
  let out = '';
  while ((nl = buf.indexOf('\n')) >= 0) {
    const req = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    out += JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { message: req.params.message, time: new Date().toISOString() } }) + '\n';
  }
  return [out, buf];
}
