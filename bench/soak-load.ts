/**
 * The soak's load phases (bench/soak.ts): connection churn, garbage bytes, slowloris, notification floods. Each
 * runs against a Unix socket until its count is reached or its deadline passes, and returns what it did.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface LoadResult {
  /** One line for the table's "load" column. */
  summary: string;
  /** True when the deadline cut the phase short. */
  partial: boolean;
}

const MiB = 1024 * 1024;

function open(path: string, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const t = setTimeout(() => { s.destroy(); reject(new Error('connect-timeout')); }, timeoutMs);
    s.once('connect', () => { clearTimeout(t); s.removeAllListeners('error'); s.on('error', () => undefined); resolve(s); });
    s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(t); reject(new Error(e.code ?? 'connect-error')); });
  });
}

/** Resolves when the socket has closed (or after `ms`, destroying it). */
function closed(s: Socket, ms: number): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { s.destroy(); resolve(); }, ms);
    s.once('close', () => { clearTimeout(t); resolve(); });
  });
}

/** The first line the server sends, or the reason none came. */
function firstLine(s: Socket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (r: string) => { clearTimeout(t); s.off('data', onData); s.off('close', onClose); resolve(r); };
    const onData = (d: Buffer) => { buf += d.toString(); const nl = buf.indexOf('\n'); if (nl >= 0) done(buf.slice(0, nl)); };
    const onClose = () => done('(closed)');
    const t = setTimeout(() => done('(timeout)'), ms);
    s.on('data', onData);
    s.once('close', onClose);
  });
}

const codeOf = (line: string): string => {
  try {
    const m = JSON.parse(line) as { result?: unknown; error?: { data?: { code?: string } } };
    return m.result !== undefined ? 'ok' : m.error?.data?.code ?? 'error';
  } catch {
    return line.startsWith('(') ? line.slice(1, -1) : 'unparsable';
  }
};

async function workers(n: number, fn: () => Promise<boolean>): Promise<void> {
  await Promise.all(Array.from({ length: n }, async () => { while (await fn()); }));
}

const tally = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} ${k}`).join(', ');

/** `total` connections, `concurrency` at a time: connect, ping, close; every 10th reset right after connect, every 10th reset mid-request. */
export async function churn(path: string, total: number, concurrency: number, deadline: number): Promise<LoadResult> {
  let next = 0;
  const outcomes: Record<string, number> = {};
  await workers(concurrency, async () => {
    if (next >= total || Date.now() > deadline) return false;
    const n = next++;
    let s: Socket;
    try {
      s = await open(path);
    } catch (e) {
      outcomes[`connect ${(e as Error).message}`] = (outcomes[`connect ${(e as Error).message}`] ?? 0) + 1;
      return true;
    }
    let what: string;
    if (n % 10 === 3) {
      s.destroy();
      what = 'reset after connect';
    } else if (n % 10 === 7) {
      s.write('{"jsonrpc":"2.0","id":1,"meth');
      s.destroy();
      what = 'reset mid-request';
    } else {
      s.write(`{"jsonrpc":"2.0","id":${n},"method":"ping"}\n`);
      what = `ping ${codeOf(await firstLine(s, 5000))}`;
      s.end();
      await closed(s, 2000);
    }
    outcomes[what] = (outcomes[what] ?? 0) + 1;
    return true;
  });
  return { summary: `${next} connections (${tally(outcomes)})`, partial: next < total };
}

/**
 * `totalBytes` of garbage over many connections, `concurrency` at a time. Three of four connections send 1 MiB
 * + 1 KiB of random bytes without a newline (one frame over the limit: the daemon must close); the fourth sends
 * 4 MiB of random lines (up to 4 KiB each, invalid UTF-8 included) and reads the error replies.
 */
export async function garbage(path: string, totalBytes: number, concurrency: number, deadline: number): Promise<LoadResult> {
  const binary = randomBytes(MiB + 1024);
  for (let i = 0; i < binary.length; i++) if (binary[i] === 0x0a) binary[i] = 0x0b;
  const lines = randomBytes(4 * MiB);
  for (let i = 0, next = 0; i < lines.length; i++) {
    if (lines[i] === 0x0a) lines[i] = 0x0b;
    if (i >= next) { lines[i] = 0x0a; next = i + 1 + (lines[i + 1] ?? 0) * 16; }
  }
  let sent = 0;
  let conns = 0;
  let replyBytes = 0;
  const endings: Record<string, number> = {};
  await workers(concurrency, async () => {
    if (sent >= totalBytes || Date.now() > deadline) return false;
    const kind = conns++ % 4 === 3 ? 'lines' : 'binary';
    let s: Socket;
    try {
      s = await open(path);
    } catch (e) {
      endings[`connect ${(e as Error).message}`] = (endings[`connect ${(e as Error).message}`] ?? 0) + 1;
      return true;
    }
    let first = '';
    s.on('data', (d: Buffer) => { replyBytes += d.length; if (first.length < 300) first += d.toString(); });
    const payload = kind === 'binary' ? binary : lines;
    const CHUNK = 64 * 1024;
    for (let off = 0; off < payload.length && !s.destroyed && !s.writableEnded; off += CHUNK) {
      const part = payload.subarray(off, off + CHUNK);
      sent += part.length;
      if (!s.write(part)) {
        const drained = await new Promise<boolean>((r) => {
          const done = (v: boolean) => { clearTimeout(t); s.off('drain', onDrain); s.off('close', onClose); r(v); };
          const onDrain = () => done(true);
          const onClose = () => done(false);
          const t = setTimeout(() => done(false), 5000);
          s.on('drain', onDrain);
          s.on('close', onClose);
        });
        if (!drained) break;
      }
    }
    if (!s.destroyed) s.end();
    await closed(s, 5000);
    const nl = first.indexOf('\n');
    const code = nl >= 0 ? codeOf(first.slice(0, nl)) : 'no reply';
    const key = `${kind}: ${code}`;
    endings[key] = (endings[key] ?? 0) + 1;
    return true;
  });
  return { summary: `${(sent / MiB).toFixed(0)} MiB over ${conns} connections, ${(replyBytes / MiB).toFixed(1)} MiB of replies (first reply: ${tally(endings)})`, partial: sent < totalBytes };
}

/**
 * `count` connections that each send a request one byte per `dribbleMs` and never finish it, held for
 * `holdMs`. Reports how many the daemon admitted (still open at the end) and how many it refused or closed.
 */
export async function slowloris(path: string, count: number, holdMs: number, dribbleMs: number, deadline: number): Promise<LoadResult> {
  const partialRequest = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"' + 'x'.repeat(4000);
  const sockets: Socket[] = [];
  const firstReplies: Record<string, number> = {};
  const connectFailed: Record<string, number> = {};
  let next = 0;
  const end = Math.min(deadline, Date.now() + holdMs);
  await workers(50, async () => {
    if (next >= count || Date.now() > end) return false;
    next++;
    try {
      const s = await open(path);
      sockets.push(s);
      let reply = '';
      s.on('data', (d: Buffer) => {
        if (reply.includes('\n')) return;
        reply += d.toString();
        const nl = reply.indexOf('\n');
        if (nl >= 0) { const c = codeOf(reply.slice(0, nl)); firstReplies[c] = (firstReplies[c] ?? 0) + 1; }
      });
    } catch (e) {
      connectFailed[(e as Error).message] = (connectFailed[(e as Error).message] ?? 0) + 1;
    }
    return true;
  });
  let pos = 0;
  while (Date.now() < end) {
    for (const s of sockets) if (!s.destroyed) s.write(partialRequest[pos % partialRequest.length]!);
    pos++;
    await new Promise((r) => setTimeout(r, Math.min(dribbleMs, Math.max(0, end - Date.now()))));
  }
  const open_ = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
  for (const s of sockets) s.destroy();
  return {
    summary: `${next} opened (connect failures: ${tally(connectFailed) || 'none'}), ${open_} still admitted after ${((holdMs) / 1000).toFixed(0)} s of dribbling ${pos} bytes each; replies: ${tally(firstReplies) || 'none'}`,
    partial: next < count,
  };
}

/** `total` notifications (authenticate with a junk token and ping, alternating, no id) over `conns` connections. */
export async function notifications(path: string, total: number, conns: number, deadline: number): Promise<LoadResult> {
  const auth = '{"jsonrpc":"2.0","method":"authenticate","params":{"token":"x.y.z"}}\n';
  const ping = '{"jsonrpc":"2.0","method":"ping"}\n';
  let sent = 0;
  const replies: Record<string, number> = {};
  let drainSeconds = 0;
  let writeSeconds = 0;
  const t0 = Date.now();
  const endings: Record<string, number> = {};
  await Promise.all(Array.from({ length: conns }, async (_, c) => {
    let s: Socket;
    try {
      s = await open(path);
    } catch (e) {
      endings[`connect ${(e as Error).message}`] = (endings[`connect ${(e as Error).message}`] ?? 0) + 1;
      return;
    }
    let buf = '';
    let gotEnd: (seen: boolean) => void = () => undefined;
    const endSeen = new Promise<boolean>((r) => { gotEnd = r; });
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"id":"end"')) gotEnd(true);
        else replies[codeOf(line)] = (replies[codeOf(line)] ?? 0) + 1;
      }
    });
    s.once('close', () => gotEnd(false));
    const mine = Math.floor(total / conns) + (c < total % conns ? 1 : 0);
    const BATCH = 500;
    for (let i = 0; i < mine && !s.destroyed && Date.now() < deadline; i += BATCH) {
      const n = Math.min(BATCH, mine - i);
      let text = '';
      for (let k = 0; k < n; k++) text += (i + k) % 2 === 0 ? auth : ping;
      sent += n;
      if (!s.write(text)) {
        await new Promise<void>((r) => {
          const done = () => { clearTimeout(t); s.off('drain', done); s.off('close', done); r(); };
          const t = setTimeout(done, Math.max(0, deadline - Date.now()));
          s.on('drain', done);
          s.on('close', done);
        });
      }
    }
    writeSeconds = Math.max(writeSeconds, (Date.now() - t0) / 1000);
    // A request at the end: its answer means the daemon has read every notification before it.
    const started = Date.now();
    s.write('{"jsonrpc":"2.0","id":"end","method":"ping"}\n');
    const seen = await Promise.race([endSeen, new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(1000, deadline - Date.now())))]);
    const k = seen ? 'answered' : s.destroyed ? 'closed by the daemon' : 'still unanswered at the deadline';
    endings[k] = (endings[k] ?? 0) + 1;
    drainSeconds = Math.max(drainSeconds, (Date.now() - started) / 1000);
    s.destroy();
  }));
  return {
    summary: `${sent} notifications over ${conns} connections handed to the sockets in ${writeSeconds.toFixed(1)} s (as fast as the daemon reads), then a ping on each: ${tally(endings)} (up to ${drainSeconds.toFixed(1)} s later); other replies: ${tally(replies) || 'none'}`,
    partial: sent < total || endings.answered !== conns,
  };
}
