// Attestation of a Unix-socket caller, pinned by a pidfd at connect: the control attests a live caller
// (uid, gid, names, the kernel's exe path and the executable's SHA-256); the same caller after it exited is
// refused, and so is a caller whose socket lives on in a child after the connecting process exited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlyMeError } from '../../../src/errors.js';
import { attest } from '../../../src/spiffe/attest.js';
import { pinPeerProcess, type PinnedPeerProcess } from '../../../src/transport/peercred.js';

function server(path: string): Promise<{ next(): Promise<{ socket: Socket; pinned: PinnedPeerProcess }>; close(): void }> {
  const waiting: Array<(v: { socket: Socket; pinned: PinnedPeerProcess }) => void> = [];
  const srv = createServer((socket) => {
    socket.on('error', () => undefined);
    waiting.shift()?.({ socket, pinned: pinPeerProcess(socket) });
  });
  return new Promise((resolve) => srv.listen(path, () => resolve({
    next: () => new Promise((r) => waiting.push(r)),
    close: () => srv.close(),
  })));
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())));

test('a live caller is attested; after it exits it never is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-attest-'));
  const path = join(dir, 's.sock');
  const srv = await server(path);
  try {
    const accepted = srv.next();
    const child = spawn(process.execPath, ['-e', `const s = require('net').connect(${JSON.stringify(path)}); process.stdin.on('data', () => process.exit(0));`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const { pinned } = await accepted;
    const a = await attest(pinned, true);
    const exe = realpathSync(process.execPath);
    assert.equal(a.pid, child.pid);
    assert.ok(a.selectors.has(`unix:uid:${process.getuid!()}`));
    assert.ok(a.selectors.has(`unix:gid:${process.getgid!()}`));
    assert.ok(a.selectors.has(`unix:path:${exe}`), [...a.selectors].join(' '));
    assert.ok(a.selectors.has(`unix:sha256:${createHash('sha256').update(readFileSync(exe)).digest('hex')}`));
    if (process.getuid!() === 0) assert.ok(a.selectors.has('unix:user:root') && a.selectors.has('unix:group:root'));
    child.stdin!.write('bye\n');
    await exited(child);
    await assert.rejects(attest(pinned, false), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED');
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the socket handed to a child outlives the connecting process: the child is not attested as it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-attest-'));
  const path = join(dir, 's.sock');
  const srv = await server(path);
  try {
    const accepted = srv.next();
    // The parent connects, starts a child that inherits the socket (fd 3), and exits at once.
    const script = `
      const net = require('net'); const { spawn } = require('child_process');
      const s = net.connect(${JSON.stringify(path)}, () => {
        const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 8000)'], { stdio: ['ignore', 'ignore', 'ignore', s], detached: true });
        c.unref(); process.stdout.write(String(c.pid) + '\\n'); process.exit(0);
      });`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const { socket, pinned } = await accepted;
    await exited(parent);
    const grandchild = Number(out.trim());
    try {
      assert.equal(socket.destroyed, false, 'the connection is still open (held by the child)');
      await assert.rejects(attest(pinned, false), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_UNAUTHENTICATED');
    } finally {
      if (grandchild > 0) try { process.kill(grandchild); } catch { /* gone */ }
    }
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path bind-mounted over in the caller\'s own mount namespace does not give unix:path; unix:sha256 is of the file it really runs',
  { skip: process.getuid?.() !== 0 && 'needs root (unshare -m)' }, async () => {
    const { copyFileSync, chmodSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'flyme-attest-'));
    const path = join(dir, 's.sock');
    const trusted = join(dir, 'trusted-app');
    copyFileSync('/bin/sleep', trusted);
    chmodSync(trusted, 0o755);
    const srv = await server(path);
    try {
      const accepted = srv.next();
      const js = `require('net').connect(${JSON.stringify(path)}); process.stdin.on('data', () => process.exit(0));`;
      const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" "$1" && exec "$1" -e "$2"`, realpathSync(process.execPath), trusted, js], { stdio: ['pipe', 'ignore', 'ignore'] });
      const { pinned } = await accepted;
      const a = await attest(pinned, true).finally(() => child.kill());
      assert.ok(![...a.selectors].some((s) => s.startsWith('unix:path:')), `no path selector: ${[...a.selectors].join(' ')}`);
      assert.ok(a.selectors.has(`unix:sha256:${createHash('sha256').update(readFileSync(realpathSync(process.execPath))).digest('hex')}`), 'the hash is of the binary really running (node)');
      assert.ok(!a.selectors.has(`unix:sha256:${createHash('sha256').update(readFileSync(trusted)).digest('hex')}`));
      await exited(child);
    } finally {
      srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
