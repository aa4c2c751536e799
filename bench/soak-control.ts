/**
 * The soak's control client, run as a separate process (forked by bench/soak.ts) so that the load generator's
 * event loop does not distort its latencies. It calls `ping` sequentially on one kept-open connection (reconnecting
 * when it is lost) and, every 10th round, on a fresh connection as well (can a newcomer still get in?).
 *
 * IPC: {start: phase} resets the numbers and starts pinging; {stop: true} stops and answers with a ControlReport.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ControlReport {
  pings: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  errorReasons: Record<string, number>;
  freshOk: number;
  freshFailed: number;
  freshReasons: Record<string, number>;
}

const PING_TIMEOUT_MS = 5000;
const PAUSE_MS = 10;

/** One line-oriented connection with a queue of waiters for response lines. */
class LineSocket {
  #buf = '';
  #waiter: ((line: string | Error) => void) | undefined;
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static open(path: string, timeoutMs: number): Promise<LineSocket> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const t = setTimeout(() => { s.destroy(); reject(new Error('connect-timeout')); }, timeoutMs);
      s.once('connect', () => { clearTimeout(t); resolve(new LineSocket(s)); });
      s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(t); reject(new Error(e.code ?? 'connect-error')); });
    });
  }

  #wake(): void {
    const w = this.#waiter;
    if (!w) return;
    const nl = this.#buf.indexOf('\n');
    if (nl >= 0) {
      this.#waiter = undefined;
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      w(line);
    } else if (this.closed) {
      this.#waiter = undefined;
      w(new Error('closed'));
    }
  }

  /** Sends one line and waits for the next line back. */
  request(line: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.#waiter = undefined; reject(new Error('timeout')); }, timeoutMs);
      this.#waiter = (r) => { clearTimeout(t); if (r instanceof Error) reject(r); else resolve(r); };
      this.socket.write(line);
      this.#wake();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A ping round trip; resolves with the latency in ms or rejects with a short reason. */
async function ping(conn: LineSocket, id: number): Promise<number> {
  const started = performance.now();
  const line = await conn.request(`{"jsonrpc":"2.0","id":${id},"method":"ping"}\n`, PING_TIMEOUT_MS);
  const ms = performance.now() - started;
  const msg = JSON.parse(line) as { id?: unknown; result?: unknown; error?: { data?: { code?: string } } };
  if (msg.error) throw new Error(msg.error.data?.code ?? 'error-response');
  if (msg.id !== id || msg.result === undefined) throw new Error('unexpected-response');
  return ms;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runControl(path: string): Promise<void> {
  let running = false;
  let loop: Promise<void> | undefined;
  let samples: number[] = [];
  let report: Omit<ControlReport, 'pings' | 'p50' | 'p99' | 'max'>;
  const reset = () => {
    samples = [];
    report = { errors: 0, errorReasons: {}, freshOk: 0, freshFailed: 0, freshReasons: {} };
  };
  const bump = (m: Record<string, number>, k: string) => { m[k] = (m[k] ?? 0) + 1; };
  reset();
  let conn: LineSocket | undefined;
  let id = 0;

  const run = async () => {
    let round = 0;
    while (running) {
      round++;
      try {
        conn ??= await LineSocket.open(path, PING_TIMEOUT_MS);
        samples.push(await ping(conn, ++id));
      } catch (e) {
        report.errors++;
        bump(report.errorReasons, (e as Error).message);
        conn?.destroy();
        conn = undefined;
      }
      if (round % 10 === 0) {
        let fresh: LineSocket | undefined;
        try {
          fresh = await LineSocket.open(path, PING_TIMEOUT_MS);
          await ping(fresh, ++id);
          report.freshOk++;
        } catch (e) {
          report.freshFailed++;
          bump(report.freshReasons, (e as Error).message);
        } finally {
          fresh?.destroy();
        }
      }
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  };

  process.on('message', (m: { start?: string; stop?: boolean; exit?: boolean }) => {
    if (m.start !== undefined) {
      reset();
      running = true;
      loop = run();
    } else if (m.stop) {
      running = false;
      void loop?.then(() => {
        const sorted = [...samples].sort((a, b) => a - b);
        const out: ControlReport = { pings: samples.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, ...report };
        process.send!(out);
      });
    } else if (m.exit) {
      conn?.destroy();
      process.disconnect();
    }
  });
  process.send!({ ready: true });
}

if (process.argv[2] === '--run' && process.send) void runControl(process.argv[3]!);
