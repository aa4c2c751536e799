/**
 * flymed's opt-in scrape endpoint (`--metrics tcp://127.0.0.1:9464`): plain HTTP/1.1 with node:http, GET (or
 * HEAD) /metrics only, loopback only unless `--metrics-allow-remote`. It is bounded like every other listener:
 * a few connections at once, header and request deadlines, small headers, no request body, a short
 * keep-alive. It serves operational data (call counts, refusals, denials), not secrets, but without
 * authentication: off loopback anyone who can reach the port reads it.
 */
import { isIP } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { flymeError } from '../../errors.js';
import { isLoopbackHost, parseAddress } from '../../transport/address.js';

export const METRICS_PATH = '/metrics';
export const METRICS_MAX_CONNECTIONS = 8;

export interface MetricsAddress {
  host: string;
  port: number;
  url: string;
}

/**
 * Checks a `--metrics` URL: `tcp://HOST:PORT`, HOST loopback (127.0.0.0/8, ::1) unless `allowRemote`.
 * Throws FLYME_INVALID_ADDRESS saying what is accepted.
 */
export function parseMetricsAddress(url: string, allowRemote = false): MetricsAddress {
  const bad = (why: string) => flymeError('FLYME_INVALID_ADDRESS', `invalid --metrics address "${url}": ${why}`, { address: url });
  if (!url.startsWith('tcp://')) throw bad('use tcp://HOST:PORT (plain HTTP), e.g. tcp://127.0.0.1:9464');
  const a = parseAddress(url);
  if (a.kind !== 'tcp') throw bad('use tcp://HOST:PORT');
  if (!allowRemote && isIP(a.host) === 0) {
    throw bad(`give a loopback IP address (127.0.0.1 or [::1]), not the name ${a.host}: a name may resolve to any address (another host needs --metrics-allow-remote)`);
  }
  if (!allowRemote && !isLoopbackHost(a.host)) {
    throw bad(`${a.host} is not a loopback address; metrics are served without authentication, so only loopback (127.0.0.0/8 or ::1) is allowed unless --metrics-allow-remote is given (anyone who can reach the port then reads the daemon's operational data)`);
  }
  return { host: a.host, port: a.port, url: a.url };
}

export interface MetricsEndpoint {
  /** `http://HOST:PORT/metrics` as bound (the real port when 0 was asked). */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsHttpOptions {
  text(): Promise<string>;
  contentType: string;
  /** Called when producing the exposition fails (answered 500). */
  onError?(err: unknown): void;
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A request carrying a body (GET and HEAD take none here). */
function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

export async function serveMetrics(at: MetricsAddress, o: MetricsHttpOptions): Promise<MetricsEndpoint> {
  const server: Server = createServer({
    headersTimeout: 5_000,
    requestTimeout: 10_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 8 * 1024,
  }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (hasBody(req)) {
      // Never read it: answer and close the connection.
      res.shouldKeepAlive = false;
      answer(res, 413, 'request bodies are not accepted\n', { connection: 'close' });
      return;
    }
    if (path !== METRICS_PATH) { answer(res, 404, `not found: only ${METRICS_PATH} is served\n`); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { answer(res, 405, 'method not allowed: use GET\n', { allow: 'GET, HEAD' }); return; }
    o.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': o.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        o.onError?.(err);
        answer(res, 500, 'metrics are unavailable; see the daemon log\n');
      },
    );
  });
  server.maxConnections = METRICS_MAX_CONNECTIONS;
  server.maxRequestsPerSocket = 100;
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? flymeError('FLYME_ADDRESS_IN_USE', `metrics address ${at.url} is already in use`, { address: at.url })
        : flymeError('FLYME_INVALID_ADDRESS', `cannot listen for metrics on ${at.url}: ${err.code ?? err.message}`, { address: at.url }));
    };
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port }, () => { server.off('error', onError); resolve(); });
  });
  const bound = server.address();
  const port = bound && typeof bound === 'object' ? bound.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return {
    url: `http://${host}:${port}${METRICS_PATH}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
