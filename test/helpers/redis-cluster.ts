/**
 * A private Redis Cluster for tests and the bench: 3 masters + 3 replicas from /usr/bin/redis-server, TLS only
 * (clients, replication and the cluster bus), client certificates required, on free loopback ports; created with
 * `redis-cli --cluster create … --cluster-replicas 1`. Every node presents the same certificate (files given).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REDIS_CLI, REDIS_SERVER } from './redis.js';

export interface ClusterTls { cert: string; key: string; ca: string }

export interface ClusterNode {
  port: number;
  proc: ChildProcess;
  /** SIGKILL this node (a crash: no failover handoff). */
  kill(): Promise<void>;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `rediss://127.0.0.1:PORT` of every node (any of them is a seed). */
  urls: string[];
  /** Run a redis-cli command against one node over TLS (with the client certificate given); stdout. */
  cli(port: number, args: string[], tls?: ClusterTls): string;
  /**
   * {@link cli} without blocking this process (the nodes log into files, so a synchronous call cannot stall them
   * either; this one lets the test's own servers and timers run meanwhile).
   */
  cliAsync(port: number, args: string[], tls?: ClusterTls): Promise<string>;
  /** The port of the node that is master of `slot` now (from CLUSTER SHARDS of a live node). */
  masterOf(slot: number): number;
  /** Wait until every live node reports cluster_state:ok and agrees `slot` is served by a master other than `port`. */
  waitFailover(slot: number, oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start the cluster in `dir` (one subdirectory per node). `server` is the node certificate (also presented to
 * other nodes on the bus and by replicas), `client` the certificate the helper's redis-cli uses.
 */
export async function startRedisCluster(dir: string, server: ClusterTls, client: ClusterTls, o: { nodeTimeoutMs?: number; wrap?: string[] } = {}): Promise<RedisCluster> {
  const tlsArgs = (t: ClusterTls) => ['--tls', '--cacert', t.ca, '--cert', t.cert, '--key', t.key];
  const cliArgs = (port: number, args: string[], t: ClusterTls) => [...tlsArgs(t), '-h', '127.0.0.1', '-p', String(port), ...args];
  const cliFailed = (port: number, args: string[], r: { status: number | null; signal: string | null; stdout: string; stderr: string; error?: Error }) =>
    new Error(`redis-cli ${args.join(' ')} on ${port}: ${r.stderr || r.stdout || `exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}`}`);
  const cli = (port: number, args: string[], t: ClusterTls = client): string => {
    const r = spawnSync(REDIS_CLI, cliArgs(port, args, t), { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw cliFailed(port, args, r);
    return r.stdout;
  };
  const cliAsync = (port: number, args: string[], t: ClusterTls = client): Promise<string> => new Promise((resolve, reject) => {
    execFile(REDIS_CLI, cliArgs(port, args, t), { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      if (!error) resolve(stdout);
      else reject(cliFailed(port, args, { status: typeof error.code === 'number' ? error.code : null, signal: error.signal ?? null, stdout, stderr, error }));
    });
  });
  const nodes: ClusterNode[] = [];
  const stopAll = async () => { await Promise.all(nodes.map((n) => n.kill())); };
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      const args = ['--port', '0', '--tls-port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
        '--tls-cert-file', server.cert, '--tls-key-file', server.key, '--tls-ca-cert-file', server.ca,
        '--tls-auth-clients', 'yes', '--tls-protocols', 'TLSv1.3', '--tls-replication', 'yes', '--tls-cluster', 'yes',
        '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', String(o.nodeTimeoutMs ?? 1000),
        // a replica always takes over (no data-age limit), and the other shards keep serving while one slot range is down
        '--cluster-replica-validity-factor', '0', '--cluster-require-full-coverage', 'no',
        '--repl-diskless-sync-delay', '0', '--save', '', '--appendonly', 'no', '--dir', nodeDir, '--daemonize', 'no'];
      nodes.push(await launchNode(port, o.wrap ?? [], args, join(nodeDir, 'redis.log')));
    }
    const create = spawnSync(REDIS_CLI, [...tlsArgs(client), '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (create.status !== 0 || !/All 16384 slots covered/.test(create.stdout)) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    await until(() => nodes.every((n) => /cluster_state:ok/.test(cli(n.port, ['CLUSTER', 'INFO'])) && /cluster_known_nodes:6/.test(cli(n.port, ['CLUSTER', 'INFO']))), 15_000, 'cluster_state:ok on every node');
    // Replicas linked to their masters (a failover needs a replica that has synced).
    await until(() => nodes.every((n) => { const info = cli(n.port, ['INFO', 'replication']); return /role:master/.test(info) || /master_link_status:up/.test(info); }), 15_000, 'replicas in sync');
  } catch (e) {
    await stopAll();
    throw e;
  }
  const live = () => nodes.find((n) => n.proc.exitCode === null && n.proc.signalCode === null)!;
  const masterOf = (slot: number, from = live().port): number => {
    for (const line of cli(from, ['CLUSTER', 'NODES']).split('\n')) {
      const f = line.split(' ');
      if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
      for (const range of f.slice(8)) {
        const [a, b] = range.split('-').map(Number);
        if (slot >= a! && slot <= (b ?? a)!) return Number(/:(\d+)@/.exec(f[1]!)![1]);
      }
    }
    return -1;
  };
  return {
    nodes,
    urls: nodes.map((n) => `rediss://127.0.0.1:${n.port}`),
    cli,
    cliAsync,
    masterOf: (slot) => masterOf(slot),
    waitFailover: async (slot, oldPort, timeoutMs = 20_000) => {
      let port = -1;
      const alive = () => nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
      await until(() => alive().every((n) => {
        const p = masterOf(slot, n.port);
        if (p === oldPort || p === -1 || !/cluster_state:ok/.test(cli(n.port, ['CLUSTER', 'INFO']))) return false;
        port = p;
        return true;
      }), timeoutMs, `failover of slot ${slot} away from ${oldPort}`);
      return port;
    },
    stop: stopAll,
  };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (cond()) return;
    } catch { /* a node not ready yet */ }
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Starts one node, logging into `logPath` (not into a pipe: a pipe this process has to drain would fill while
 * it blocks in a synchronous redis-cli call, and a node blocked writing its log stops answering that call).
 */
async function launchNode(port: number, wrap: string[], args: string[], logPath: string): Promise<ClusterNode> {
  const argv = [...args, '--logfile', logPath];
  // stderr only carries what redis-server says before it can open its log file.
  const stdio = ['ignore', 'ignore', 'pipe'] as const;
  const proc = wrap.length ? spawn(wrap[0]!, [...wrap.slice(1), REDIS_SERVER, ...argv], { stdio: [...stdio] }) : spawn(REDIS_SERVER, argv, { stdio: [...stdio] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const log = (): string => { try { return readFileSync(logPath, 'utf8').slice(-20_000); } catch { return ''; } };
  const node: ClusterNode = {
    port, proc,
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await done;
    },
  };
  const deadline = Date.now() + 10_000;
  while (!log().includes('Ready to accept connections')) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${err}${log()}`);
    if (Date.now() > deadline) { await node.kill(); throw new Error(`redis-server not ready: ${err}${log()}`); }
    await sleep(20);
  }
  return node;
}

/** A cluster with a fresh FlyMe CA (trust domain flyme.local) and identities NAME.pem/NAME.key.pem in `dir`. */
export interface ClusterFixture {
  dir: string;
  cluster: RedisCluster;
  tls(name: string): ClusterTls;
  /** `count` channel names `${prefix}N` whose slots are served by different masters, with their slots. */
  channelsOnDistinctMasters(prefix: string, count: number): Array<{ channel: string; slot: number; master: number }>;
  close(): Promise<void>;
}

export async function clusterFixture(names: readonly string[], o: { nodeTimeoutMs?: number } = {}): Promise<ClusterFixture> {
  const { createRootCA, issueSvidWithKey } = await import('../../src/identity/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'flyme-redis-cluster-'));
  const ca = await createRootCA({ trustDomain: 'flyme.local', days: 1 });
  writeFileSync(join(dir, 'root-ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'root-ca.key.pem'), ca.keyPem, { mode: 0o600 });
  for (const name of ['redis', ...names]) {
    const s = await issueSvidWithKey(ca, { spiffeId: `spiffe://flyme.local/${name}`, dnsNames: ['localhost'], days: 1 });
    writeFileSync(join(dir, `${name}.pem`), s.chainPem);
    writeFileSync(join(dir, `${name}.key.pem`), s.keyPem, { mode: 0o600 });
  }
  const tls = (name: string): ClusterTls => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key.pem`), ca: join(dir, 'root-ca.pem') });
  let cluster: RedisCluster;
  try {
    cluster = await startRedisCluster(dir, tls('redis'), tls(names[0]!), o);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir, cluster, tls,
    channelsOnDistinctMasters: (prefix, count) => {
      const out: Array<{ channel: string; slot: number; master: number }> = [];
      for (let i = 0; out.length < count && i < 1000; i++) {
        const channel = `${prefix}${i}`;
        const slot = Number(cluster.cli(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', channel]).trim());
        const master = cluster.masterOf(slot);
        if (!out.some((c) => c.master === master)) out.push({ channel, slot, master });
      }
      if (out.length < count) throw new Error(`only ${out.length} masters serve ${prefix}N channels`);
      return out;
    },
    close: async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
