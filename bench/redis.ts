/**
 * The Redis cases: a private TLS-only redis-server on loopback (or a 3+3 TLS Redis Cluster, test/helpers/redis-cluster.ts),
 * and end-to-end pub/sub rates; on the cluster, sharded pub/sub (SPUBLISH/SSUBSCRIBE) on one channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createClient, createCluster } from '@redis/client';
import { ChannelAcl } from '../src/auth/policy/index.js';
import { SecureRedis } from '../src/redis/index.js';

export const haveRedis = existsSync('/usr/bin/redis-server');

export async function startBenchRedis(certs: string, cpu: string[]): Promise<{ url: string; stop(): void }> {
  const port = await new Promise<number>((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(certs, 'redis.pem'), '--tls-key-file', join(certs, 'redis.key.pem'),
    '--tls-ca-cert-file', join(certs, 'root-ca.pem'), '--tls-auth-clients', 'yes', '--save', '', '--appendonly', 'no', '--dir', certs];
  const p: ChildProcess = spawn(cpu[0] ?? '/usr/bin/redis-server', cpu.length ? [...cpu.slice(1), '/usr/bin/redis-server', ...args] : args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('Ready to accept')) resolve(); });
    p.once('exit', (c) => reject(new Error(`redis-server exited ${c}`)));
  });
  return { url: `rediss://localhost:${port}`, stop: () => p.kill('SIGKILL') };
}

export type PubSubKind = 'redis-plain' | 'redis-signed' | 'redis-signed-single' | 'cluster-plain' | 'cluster-signed';

/** CPU time (user + system, this process: publisher and subscriber) per message of the last pubsubRate's timed part. */
export let lastPubsubCpuUsPerMessage = 0;

/**
 * Publish `n` 64-byte messages (32 in flight) and wait until the subscriber has them all: messages/s end to end.
 * For the cluster kinds, `url` is the comma-separated seed URLs.
 */
export async function pubsubRate(kind: PubSubKind, url: string, certs: string, n: number): Promise<number> {
  const payload = 'x'.repeat(64);
  let received = 0;
  let publish: () => Promise<unknown>;
  let close: () => Promise<unknown>;
  let doneAll!: () => void;
  const all = new Promise<void>((r) => { doneAll = r; });
  const count = () => { if (++received === n) doneAll(); };
  if (kind === 'redis-plain') {
    const pub = createClient({ url, socket: { tls: true, ca: readFileSync(join(certs, 'root-ca.pem')), cert: readFileSync(join(certs, 'client.pem')), key: readFileSync(join(certs, 'client.key.pem')), checkServerIdentity: () => undefined } });
    await pub.connect();
    const sub = pub.duplicate();
    await sub.connect();
    await sub.subscribe('bench', count);
    publish = () => pub.publish('bench', payload);
    close = async () => { await sub.close(); await pub.close(); };
  } else if (kind === 'cluster-plain') {
    const c = createCluster({
      rootNodes: url.split(',').map((u) => ({ url: u })),
      defaults: { socket: { tls: true, ca: readFileSync(join(certs, 'root-ca.pem')), cert: readFileSync(join(certs, 'client.pem')), key: readFileSync(join(certs, 'client.key.pem')), checkServerIdentity: () => undefined } },
    });
    await c.connect();
    await c.sSubscribe('bench', count);
    publish = () => c.sPublish('bench', payload);
    close = () => c.close();
  } else {
    const acl = new ChannelAcl([{ channel: 'bench', publish: [{ spiffeId: 'spiffe://bench.local/client' }], subscribe: [{ spiffeId: 'spiffe://bench.local/client' }] }]);
    const [first, ...seeds] = url.split(',');
    const r = await SecureRedis.connect({ url: first!, ...(kind === 'cluster-signed' ? { cluster: { seeds } } : {}), certsDir: certs, acl, serverId: 'spiffe://bench.local/redis', maxQueued: n + 10, ...(kind === 'redis-signed-single' ? { batch: false } : {}) });
    const sub = await r.subscribe('bench');
    void (async () => { for await (const _m of sub) count(); })();
    publish = () => r.publish('bench', payload);
    close = () => r.close();
  }
  for (let i = 0; i < 200; i++) await publish(); // warm-up
  await new Promise((r) => setTimeout(r, 200));
  received = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  await Promise.all(Array.from({ length: 32 }, async () => { while (sent < n) { sent++; await publish(); } }));
  await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
  const rate = received / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(c0);
  lastPubsubCpuUsPerMessage = received ? (cpu.user + cpu.system) / received : 0;
  await close();
  return rate;
}
