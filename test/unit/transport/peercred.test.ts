import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { strict as assert } from 'node:assert';

import { FlyMeError } from '../../../src/errors.js';
import {
  loadPeercredAddon,
  parseProcStatStartTime,
  peerCredentialsAvailable,
  pinPeerProcess,
  readPeerCredentials,
} from '../../../src/transport/peercred.js';

const isLinux = process.platform === 'linux';

interface Listening {
  server: net.Server;
  path: string;
  dir: string;
  /** Resolves with the server side of the next accepted connection. */
  next(): Promise<net.Socket>;
  close(): Promise<void>;
}

async function listenUnix(mode?: { dir: number; sock: number }): Promise<Listening> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-peercred-'));
  const path = join(dir, 's.sock');
  const queue: net.Socket[] = [];
  const waiters: ((s: net.Socket) => void)[] = [];
  const accepted: net.Socket[] = [];
  const server = net.createServer((sock: net.Socket) => {
    accepted.push(sock);
    sock.on('error', () => {});
    const w = waiters.shift();
    if (w) w(sock);
    else queue.push(sock);
  });
  server.listen(path);
  await once(server, 'listening');
  if (mode) {
    chmodSync(dir, mode.dir);
    chmodSync(path, mode.sock);
  }
  return {
    server,
    path,
    dir,
    next: () => {
      const s = queue.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
    },
    close: async () => {
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A child node process that connects to `path`, prints "c", and exits on any input from the server. */
function spawnClient(path: string, opts: { uid?: number; gid?: number; cwd?: string } = {}): ChildProcess {
  const code =
    "const s=require('net').connect(process.argv[1]);" +
    "s.on('connect',()=>process.stdout.write('c'));" +
    "s.on('data',()=>process.exit(0));s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(3));";
  return spawn(process.execPath, ['-e', code, path], { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

test('addon loads', () => {
  assert.equal(peerCredentialsAvailable(), true);
  assert.equal(typeof loadPeercredAddon().getPeerCred, 'function');
});

test('same-process peer: uid, gid, pid, exe, startTime', { skip: !isLinux }, async () => {
  const l = await listenUnix();
  const client = net.connect(l.path);
  try {
    const sock = await l.next();
    const creds = readPeerCredentials(sock);
    assert.equal(creds.uid, process.getuid!());
    assert.equal(creds.gid, process.getgid!());
    assert.equal(creds.pid, process.pid);
    assert.equal(creds.pidfd, true, 'kernel >= 6.5 expected in CI (SO_PEERPIDFD)');
    assert.equal(creds.exe, realpathSync(process.execPath));
    assert.equal(typeof creds.startTime, 'number');
    assert.ok(Number.isSafeInteger(creds.startTime) && creds.startTime! > 0);
  } finally {
    client.destroy();
    await l.close();
  }
});

test('child process peer: server sees the child pid', { skip: !isLinux }, async () => {
  const l = await listenUnix();
  const child = spawnClient(l.path);
  try {
    const sock = await l.next();
    const creds = readPeerCredentials(sock);
    assert.equal(creds.pid, child.pid);
    assert.equal(creds.uid, process.getuid!());
    assert.equal(creds.exe, realpathSync(process.execPath));
    assert.notEqual(creds.pid, process.pid);
    sock.write('x');
    await once(child, 'exit');
  } finally {
    child.kill();
    await l.close();
  }
});

test('peer running as another user (uid 65534)', { skip: !isLinux || process.getuid?.() !== 0 }, async () => {
  const l = await listenUnix({ dir: 0o755, sock: 0o666 });
  const child = spawnClient(l.path, { uid: 65534, gid: 65534, cwd: l.dir });
  try {
    const sock = await l.next();
    const creds = readPeerCredentials(sock);
    assert.equal(creds.uid, 65534);
    assert.equal(creds.gid, 65534);
    assert.equal(creds.pid, child.pid);
    sock.write('x');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  } finally {
    child.kill();
    await l.close();
  }
});

test('TCP socket is refused with FLYME_UNAUTHENTICATED', async () => {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  try {
    const sock = await accepted;
    assert.throws(
      () => readPeerCredentials(sock),
      (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED' && /not a Unix domain socket/.test(e.message),
    );
    await once(client, 'connect');
    assert.throws(() => readPeerCredentials(client), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED');
    sock.destroy();
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('socket without a file descriptor is refused', () => {
  const s = new net.Socket();
  assert.throws(
    () => readPeerCredentials(s),
    (e: unknown) =>
      e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED' && e.message === 'cannot read peer credentials: socket has no file descriptor',
  );
});

/**
 * A child connected to a server that never reads the socket (pauseOnConnect), so the server's socket stays
 * open, and keeps its peer, after the child is gone; the child exits (and is reaped) on `exit()`.
 */
async function pausedPeer(): Promise<{ sock: net.Socket; pid: number; exit(): Promise<void>; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-peercred-'));
  const path = join(dir, 's.sock');
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(path);
  await once(server, 'listening');
  const code = "require('net').connect(process.argv[1]);process.stdin.resume();process.stdin.on('end',()=>process.exit(0));";
  const child = spawn(process.execPath, ['-e', code, path], { stdio: ['pipe', 'ignore', 'inherit'] });
  const [sock] = (await once(server, 'connection')) as [net.Socket];
  return {
    sock,
    pid: child.pid!,
    exit: async () => {
      const exited = once(child, 'exit'); // reaped by libuv once this fires: the pid is free for reuse
      child.stdin!.end();
      await exited;
    },
    close: async () => {
      child.kill();
      sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a peer read after it exited and was reaped: pid, but no pidfd, exe or startTime', { skip: !isLinux }, async () => {
  const peer = await pausedPeer();
  try {
    // Control: while the child runs, its exe and start time are proven by the pidfd.
    const live = readPeerCredentials(peer.sock);
    assert.equal(live.pid, peer.pid);
    assert.equal(live.pidfd, true, 'kernel >= 6.5 expected in CI (SO_PEERPIDFD)');
    assert.equal(live.exe, realpathSync(process.execPath));
    assert.equal(typeof live.startTime, 'number');

    await peer.exit();
    const gone = readPeerCredentials(peer.sock);
    assert.deepEqual(gone, { uid: live.uid, gid: live.gid, pid: live.pid, pidfd: false });
  } finally {
    await peer.close();
  }
});

/** How many pidfds this process holds open. */
function openPidfds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[pidfd]') n++;
    } catch {
      // closed while we listed
    }
  }
  return n;
}

test('pinPeerProcess holds one pidfd for the connection: alive while the peer runs, not once it is reaped; a reaped peer is not pinned', { skip: !isLinux }, async () => {
  const peer = await pausedPeer();
  const { sock } = peer;
  try {
    const before = openPidfds();
    const pinned = pinPeerProcess(sock);
    assert.equal(pinned.pid, peer.pid);
    assert.equal(pinned.alive(), true);
    assert.equal(openPidfds(), before + 1, 'exactly one pidfd is kept per pinned connection');

    await peer.exit(); // reaped: the pid may name another process from now on
    assert.equal(pinned.alive(), false);
    // Pinning now would pin nothing alive: refused at once (this kernel still hands out a pidfd for it).
    assert.throws(() => pinPeerProcess(sock), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED' && /already exited/.test(e.message));
    assert.equal(openPidfds(), before + 1, 'the refused pin left no pidfd open');

    const closed = once(sock, 'close');
    sock.destroy();
    await closed;
    assert.equal(openPidfds(), before, 'the pidfd is closed with the connection');
  } finally {
    await peer.close();
  }
});

test('start time of a peer whose command name holds spaces and parentheses', { skip: !isLinux }, async () => {
  const l = await listenUnix();
  // process.title sets the command name (/proc/PID/stat field 2) through prctl(PR_SET_NAME).
  const code = "process.title='x) 1 2 (y';const s=require('net').connect(process.argv[1]);s.on('connect',()=>process.stdout.write('c'));s.on('data',()=>process.exit(0));";
  const child = spawn(process.execPath, ['-e', code, l.path], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const sock = await l.next();
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'latin1');
    assert.match(stat, /^\d+ \(x\) 1 2 \(y\) /);
    const creds = readPeerCredentials(sock);
    assert.equal(creds.pidfd, true);
    assert.equal(creds.startTime, parseProcStatStartTime(stat));
    assert.ok(creds.startTime! > 0);
    sock.write('x');
    await once(child, 'exit');
  } finally {
    child.kill();
    await l.close();
  }
});

test('parseProcStatStartTime handles hostile command names', () => {
  const tail = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21';
  assert.equal(parseProcStatStartTime(`1234 (node) ${tail}`), 987654);
  assert.equal(parseProcStatStartTime(`1234 (a) 1 2 3 ) x) ${tail}`), 987654);
  assert.equal(parseProcStatStartTime('1234 (node) S 1 2'), undefined);
  assert.equal(parseProcStatStartTime('garbage'), undefined);
});
