/** A private redis-server for tests: TLS only on a free loopback port, client certificates required. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { issueSvidWithKey, loadCA } from '../../src/identity/index.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';

export interface RedisServer {
  port: number;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Start again on the same port (after stop). */
  restart(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/**
 * Issue the server certificate (spiffe://TD/redis, DNS localhost) from the CA in `certs`, start redis;
 * `o.args` are extra redis-server arguments (e.g. `['--aclfile', path]`).
 */
export async function startRedis(certs: string, dir: string, o: { args?: string[] } = {}): Promise<RedisServer> {
  const ca = await loadCA(certs);
  const svid = await issueSvidWithKey(ca, { spiffeId: `spiffe://${ca.trustDomain}/redis`, dnsNames: ['localhost'], days: 1 });
  writeFileSync(join(dir, 'redis.pem'), svid.chainPem);
  writeFileSync(join(dir, 'redis.key.pem'), svid.keyPem, { mode: 0o600 });
  const port = await freePort();
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1',
    '--tls-cert-file', join(dir, 'redis.pem'), '--tls-key-file', join(dir, 'redis.key.pem'), '--tls-ca-cert-file', join(certs, 'root-ca.pem'),
    '--tls-auth-clients', 'yes', '--tls-protocols', 'TLSv1.3', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...(o.args ?? [])];
  const server: RedisServer = {
    port,
    url: `rediss://localhost:${port}`,
    proc: undefined as unknown as ChildProcess,
    stop: async () => {
      if (server.proc.exitCode !== null) return;
      const done = new Promise((r) => server.proc.once('exit', r));
      server.proc.kill('SIGKILL');
      await done;
    },
    restart: async () => {
      server.proc = await launch(args);
    },
  };
  server.proc = await launch(args);
  return server;
}

async function launch(args: string[]): Promise<ChildProcess> {
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 10_000;
  while (!out.includes('Ready to accept connections')) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`redis-server not ready: ${out}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}
