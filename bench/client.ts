/**
 * Bench client process: `node client.js <kind> <socketPath> <mode> <count|ms>`; prints one JSON line.
 * mode seq: sequential round trips (p50/p99 µs, calls/s). mode inflight: 32 calls in flight for ms.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect } from '../src/rpc/client.js';

const [kind, path, mode, arg] = process.argv.slice(2) as [string, string, string, string];
const PAYLOAD = 'x'.repeat(64);

type Call = () => Promise<unknown>;

/** Baseline client: hand-written NDJSON with a pending map, writes coalesced per tick, one timer per call. */
function baselineClient(socket: Socket): Call {
  const pending = new Map<number, { resolve: (v: unknown) => void; timer: NodeJS.Timeout }>();
  let id = 0;
  let buf = '';
  let out = '';
  let scheduled = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const p = pending.get(msg.id);
      if (p) { pending.delete(msg.id); clearTimeout(p.timer); p.resolve(msg.result); }
    }
  });
  return () => new Promise((resolve, reject) => {
    const i = ++id;
    pending.set(i, { resolve, timer: setTimeout(() => reject(new Error('timeout')), 30_000) });
    out += JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { message: PAYLOAD } }) + '\n';
    if (!scheduled) { scheduled = true; process.nextTick(() => { scheduled = false; socket.write(out); out = ''; }); }
  });
}

async function makeCall(): Promise<Call> {
  if (kind === 'net') {
    const s = await new Promise<Socket>((res, rej) => { const s = netConnect(path); s.once('connect', () => res(s)); s.once('error', rej); });
    return baselineClient(s);
  }
  const c = await connect(`unix://${path}`);
  return () => c.call('ping', { message: PAYLOAD });
}

const call = await makeCall();
if (mode === 'seq') {
  const n = Number(arg);
  for (let i = 0; i < Math.min(2000, n / 5); i++) await call(); // warm-up
  const lat = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await call();
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort();
  process.stdout.write(JSON.stringify({ p50: lat[Math.floor(n * 0.5)], p99: lat[Math.floor(n * 0.99)], rate: n / total }) + '\n');
} else {
  const ms = Number(arg);
  const warmEnd = Date.now() + Math.min(500, ms / 4);
  let done = 0;
  let counting = false;
  let t0 = 0n;
  const end = Date.now() + ms + (warmEnd - Date.now());
  const worker = async () => {
    while (Date.now() < end) {
      await call();
      if (counting) done++;
      else if (Date.now() >= warmEnd) { counting = true; t0 = process.hrtime.bigint(); }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  process.stdout.write(JSON.stringify({ rate: done / (Number(process.hrtime.bigint() - t0) / 1e9) }) + '\n');
}
process.exit(0);
