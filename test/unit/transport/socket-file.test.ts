import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, lstatSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  prepareSocketPath,
  removeSocketFile,
  socketIsLive,
  DEFAULT_DIR_MODE,
  DEFAULT_SOCKET_MODE,
} from '../../../src/transport/socket-file.js';
import { FlyMeError } from '../../../src/errors.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'flyme-sf-'));
}

function isAddressInUse(e: unknown): boolean {
  assert.ok(e instanceof FlyMeError);
  assert.equal(e.code, 'FLYME_ADDRESS_IN_USE');
  return true;
}

async function listen(path: string): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  srv.listen(path);
  await once(srv, 'listening');
  return srv;
}

/** Leave a stale socket file behind: a child binds it and is SIGKILLed so it cannot unlink. */
async function makeStaleSocket(path: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen(process.env.SOCK, () => process.stdout.write('ready\\n'))"],
    { env: { ...process.env, SOCK: path }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  assert.ok(lstatSync(path).isSocket(), 'stale socket file should remain after SIGKILL');
}

test('default modes', () => {
  assert.equal(DEFAULT_DIR_MODE, 0o750);
  assert.equal(DEFAULT_SOCKET_MODE, 0o660);
});

test('prepareSocketPath creates a missing parent dir with mode 0750', async () => {
  const root = tempDir();
  try {
    const dir = join(root, 'a', 'b');
    const path = join(dir, 'x.sock');
    await prepareSocketPath(path);
    const st = statSync(dir);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o777, 0o750);
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath honours a custom dir mode and leaves an existing dir alone', async () => {
  const root = tempDir();
  try {
    const dir = join(root, 'c');
    await prepareSocketPath(join(dir, 'x.sock'), 0o700);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const before = statSync(root).mode & 0o777;
    await prepareSocketPath(join(root, 'y.sock'));
    assert.equal(statSync(root).mode & 0o777, before);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath removes a stale socket', async () => {
  const root = tempDir();
  try {
    const path = join(root, 'stale.sock');
    await makeStaleSocket(path);
    assert.equal(await socketIsLive(path), false);
    await prepareSocketPath(path);
    assert.equal(existsSync(path), false);
    // and the path is now bindable
    const srv = await listen(path);
    await new Promise<void>((r) => srv.close(() => r()));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath refuses a live socket with FLYME_ADDRESS_IN_USE and leaves it', async () => {
  const root = tempDir();
  const path = join(root, 'live.sock');
  const srv = await listen(path);
  try {
    assert.equal(await socketIsLive(path), true);
    await assert.rejects(prepareSocketPath(path), isAddressInUse);
    assert.ok(lstatSync(path).isSocket());
    assert.equal(await socketIsLive(path), true);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath refuses a regular file with FLYME_ADDRESS_IN_USE and leaves it untouched', async () => {
  const root = tempDir();
  try {
    const path = join(root, 'file.sock');
    writeFileSync(path, 'precious', { mode: 0o640 });
    const before = statSync(path);
    await assert.rejects(prepareSocketPath(path), isAddressInUse);
    const after = statSync(path);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    assert.equal(after.mode, before.mode);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(after.ino, before.ino);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath refuses a directory in the way', async () => {
  const root = tempDir();
  try {
    await assert.rejects(prepareSocketPath(root), isAddressInUse);
    assert.ok(statSync(root).isDirectory());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareSocketPath on a missing path in an existing dir is a no-op', async () => {
  const root = tempDir();
  try {
    await prepareSocketPath(join(root, 'none.sock'));
    assert.equal(existsSync(join(root, 'none.sock')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('removeSocketFile never removes a regular file', () => {
  const root = tempDir();
  try {
    const path = join(root, 'f.sock');
    writeFileSync(path, 'keep');
    removeSocketFile(path);
    assert.equal(readFileSync(path, 'utf8'), 'keep');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('removeSocketFile removes a socket and tolerates a missing path', async () => {
  const root = tempDir();
  try {
    const path = join(root, 's.sock');
    await makeStaleSocket(path);
    removeSocketFile(path);
    assert.equal(existsSync(path), false);
    assert.doesNotThrow(() => removeSocketFile(path));
    assert.doesNotThrow(() => removeSocketFile(join(root, 'nope', 'x.sock')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('socketIsLive is false for a missing path', async () => {
  const root = tempDir();
  try {
    assert.equal(await socketIsLive(join(root, 'missing.sock')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
