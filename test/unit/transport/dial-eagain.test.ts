// A Unix socket whose accept queue is full refuses a connect at once with EAGAIN (a busy daemon, or another
// local user churning connects at it): the client tries again until its connect timeout instead of failing
// at once. The listener here (python3, backlog 0) accepts nothing for 400 ms, then everything. Control: a
// queue that never drains still ends in a clear error at the timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial } from '../../../src/transport/dial.js';
import { FlyMeError } from '../../../src/errors.js';

const python = spawnSync('python3', ['--version']).status === 0;
const LISTENER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(0)
print('ready', flush=True)
time.sleep(float(sys.argv[2]))
held = []
while True:
    c, _ = s.accept(); held.append(c)
`;

async function listener(path: string, acceptAfterS: number): Promise<ReturnType<typeof spawn>> {
  const p = spawn('python3', ['-c', LISTENER, path, String(acceptAfterS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => p.stdout!.once('data', () => r()));
  return p;
}

/** Connects until one is refused with EAGAIN (the queue is full); returns the sockets holding it. */
async function fillQueue(path: string): Promise<Socket[]> {
  const held: Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = connect({ path });
    const r = await new Promise<string>((res) => { s.once('connect', () => res('ok')); s.once('error', (e: NodeJS.ErrnoException) => res(e.code ?? 'error')); });
    if (r === 'EAGAIN') return held;
    held.push(s);
  }
  throw new Error('the accept queue never filled');
}

/** Runs `body` against a socket whose accept queue is full and that accepts after `acceptAfterS` seconds. */
async function withFullQueue(acceptAfterS: number, body: (url: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-eagain-'));
  const path = join(dir, 's.sock');
  const p = await listener(path, acceptAfterS);
  const held = await fillQueue(path);
  try {
    await body(`unix://${path}`);
  } finally {
    for (const s of held) s.destroy();
    p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('dial retries EAGAIN on a full Unix accept queue until the daemon accepts', { skip: !python && 'needs python3' }, () => withFullQueue(0.4, async (url) => {
  const t0 = Date.now();
  const s = await dial(url, { timeoutMs: 5000 });
  assert.ok(Date.now() - t0 >= 200, 'connected once the queue drained, not before');
  s.destroy();
}));

test('control: a queue that never drains ends in FLYME_UNREACHABLE at the connect timeout, saying why', { skip: !python && 'needs python3' }, () => withFullQueue(60, async (url) => {
  const t0 = Date.now();
  await assert.rejects(dial(url, { timeoutMs: 600 }), (e) => e instanceof FlyMeError && e.code === 'FLYME_UNREACHABLE' && /accepts no more connections/.test(e.message));
  assert.ok(Date.now() - t0 >= 400, 'tried until about the timeout');
}));
