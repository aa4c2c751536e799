/** `flyme pub`, `flyme sub` and `flyme redis acl`: signed pub/sub from the command line (docs/redis.md). */
import { existsSync } from 'node:fs';
import { Command } from '@commander-js/extra-typings';
import { flymeError } from '../errors.js';
import { Policy } from '../auth/policy/index.js';
import { SecureRedis, writeRedisAcl } from '../redis/index.js';
import { defaultCertsDir } from './certs.js';
import { onStdoutClosed } from './stdout.js';
import { onStopSignals } from './signals.js';

const DEFAULT_POLICY = '/etc/flyme/policy.yaml';
const DEFAULT_REDIS = 'rediss://127.0.0.1:6380';

/** The program's global options these commands use (`--certs`, `--json`). */
export interface RedisGlobals { certs?: string | undefined; json: boolean }

interface Common { redis?: string[]; cluster?: true; name: string; policy?: string; serverId?: string; redisCredentials?: string; allowInsecure?: true }

/** The options pub and sub share (applied before their own arguments are typed). */
function common(name: string) {
  return new Command(name)
    // --certs DIR (with NAME.pem, NAME.key.pem, root-ca.pem) and --json are flyme's global options
    .option('--redis <url>', `Redis URL, rediss:// (env FLYME_REDIS, default ${DEFAULT_REDIS}); with --cluster, a seed node (repeat for several)`, (v: string, seen: string[] | undefined) => [...(seen ?? []), v])
    .option('--cluster', 'a Redis Cluster: exact channels use sharded pub/sub (SPUBLISH/SSUBSCRIBE), patterns cluster-wide PUBLISH/PSUBSCRIBE')
    .option('--name <name>', 'identity file name in the certs dir', 'client')
    .option('--policy <file>', `policy file whose channels: section is the ACL (default ${DEFAULT_POLICY}; without one, the error shows a minimal file)`)
    .option('--server-id <id>', "the Redis server's SPIFFE ID (default: any ID of your trust domain)")
    .option('--redis-credentials <file>', 'log in as your Redis ACL user: the credentials file flyme redis acl wrote for this identity (env FLYME_REDIS_CREDENTIALS)', process.env.FLYME_REDIS_CREDENTIALS)
    .option('--allow-insecure', 'permit redis:// (plain text, no certificate)');
}

/** Usage errors found after parsing: commander's message and exit code 2. */
function usage(cmd: { error(message: string, o: { exitCode: number }): never }, o: Common & { broadcast?: true }): void {
  if ((o.redis?.length ?? 0) > 1 && !o.cluster) cmd.error('error: several --redis URLs are the seeds of a Redis Cluster: add --cluster', { exitCode: 2 });
  if (o.broadcast && !o.cluster) cmd.error('error: --broadcast applies to a Redis Cluster (--cluster); one redis-server always broadcasts', { exitCode: 2 });
}

/** What to write when the default policy file is missing (deny by default: no file, no channel). */
export function missingPolicyMessage(path: string): string {
  return `flyme pub/sub need a policy file whose channels: section says who may publish and subscribe (deny by default); `
    + `there is none at ${path}. Write one there (or anywhere, and pass --policy FILE), for example:\n`
    + 'roles: {}\n'
    + 'channels:\n'
    + '  - channel: "orders.*"\n'
    + '    publish: [{ spiffeId: "spiffe://flyme.local/client" }]\n'
    + '    subscribe: [{ spiffeId: "spiffe://flyme.local/client" }]\n'
    + `(the SPIFFE IDs of your certificates: flyme certs inspect CERTS/client.pem; docs/redis.md)`;
}

function loadPolicy(path: string | undefined): Policy {
  if (path === undefined && !existsSync(DEFAULT_POLICY)) throw flymeError('FLYME_INVALID_CONFIG', missingPolicyMessage(DEFAULT_POLICY), { file: DEFAULT_POLICY });
  return Policy.load(path ?? DEFAULT_POLICY);
}

async function open(o: Common, g: RedisGlobals): Promise<SecureRedis> {
  const urls = o.redis?.length ? o.redis : [process.env.FLYME_REDIS ?? DEFAULT_REDIS];
  const policy = loadPolicy(o.policy);
  for (const url of urls) {
    if (!o.allowInsecure && /^redis:/i.test(url)) {
      // The library's refusal names its option (allowInsecure); from the command line it is a flag.
      throw flymeError('FLYME_INVALID_CONFIG', `${url} is plain text without a client certificate; use rediss:// (or pass --allow-insecure explicitly)`, { url });
    }
  }
  return SecureRedis.connect({
    url: urls[0]!, ...(o.cluster ? { cluster: { seeds: urls.slice(1) } } : {}), certsDir: g.certs ?? defaultCertsDir(), name: o.name, policy,
    ...(o.serverId ? { serverId: o.serverId } : {}),
    ...(o.redisCredentials ? { credentials: o.redisCredentials } : {}),
    ...(o.allowInsecure ? { allowInsecure: true } : {}),
    onRejected: (e, channel) => process.stderr.write(`rejected on ${channel}${e.from ? ` from ${e.from}` : ''}: ${e.reason}: ${e.message}\n`),
  });
}

export function pubCommand(globals: () => RedisGlobals) {
  return common('pub')
    .description('sign MESSAGE with your certificate key and publish it on CHANNEL')
    .argument('<channel>')
    .argument('<message>')
    .option('--content-type <type>', 'content type recorded in the envelope', 'text/plain')
    .option('--broadcast', 'with --cluster: classic PUBLISH to every node, which pattern subscribers receive (default: SPUBLISH to the channel\'s shard)')
    .action(async function (channel, message, o) {
      usage(this, o as Common & { broadcast?: true });
      const r = await open(o as Common, globals());
      try {
        const n = await r.publish(channel, message, { contentType: o.contentType, ...(o.broadcast ? { broadcast: true } : {}) });
        process.stderr.write(`published to ${channel} as ${r.spiffeId} (${n} receivers)\n`);
      } finally {
        await r.close();
      }
    });
}

export function subCommand(globals: () => RedisGlobals) {
  return common('sub')
    .description('subscribe to channels or patterns; print verified messages on stdout and rejected ones on stderr, until Ctrl-C')
    .argument('<channels...>')
    .action(async function (channels, o) {
      usage(this, o as Common);
      const r = await open(o as Common, globals());
      let subs;
      try {
        subs = await Promise.all(channels.map((c) => r.subscribe(c)));
      } catch (e) {
        // A channel the ACL refuses: the Redis connections would keep the command running, printing nothing.
        await r.close();
        throw e;
      }
      // The stop handlers are in place before the "subscribed" line: a signal sent the moment it appears must find them.
      const stop = onStopSignals('flyme sub', () => r.close());
      process.stderr.write(`subscribed to ${channels.join(', ')} as ${r.spiffeId}\n`);
      onStdoutClosed(stop); // the reader went away (`| head -1`): stop quietly
      await Promise.all(subs.map(async (s) => {
        for await (const m of s) {
          process.stdout.write(globals().json
            ? JSON.stringify({ channel: m.channel, from: m.from, payload: m.payload, contentType: m.contentType, sentAt: m.sentAt.toISOString() }) + '\n'
            : `${m.sentAt.toISOString()} ${m.channel} ${m.from}: ${m.payload}\n`);
        }
      }));
    });
}

export function redisCommand() {
  const cmd = new Command('redis').description('Redis helpers');
  cmd.command('acl')
    .description("write a Redis ACL file (DIR/users.acl, for redis.conf aclfile / ACL LOAD) with one user per identity the policy's channels section names (by spiffeId, or by a role bound to a spiffeId), "
      + 'and each identity\'s login (DIR/credentials/<user>.json, 0600, for --redis-credentials); the default user is switched off')
    .option('--policy <file>', `policy file (default ${DEFAULT_POLICY})`, DEFAULT_POLICY)
    .requiredOption('--out <dir>', 'directory for users.acl and credentials/ (created 0700)')
    .option('--identity <spiffe-id...>', 'also write a user for this ID (e.g. a member of a spiffeIdPrefix rule or binding)')
    .option('--cluster', 'for a Redis Cluster: also allow CLUSTER SLOTS and CLUSTER SHARDS (the topology a cluster client reads; no other CLUSTER subcommand); load the file on every node')
    .option('--force', 'replace existing files (every identity gets a new password)')
    .action(async (o) => {
      onStdoutClosed(() => { /* the files are written; a reader that went away (`| head`) needs no more lines */ });
      const w = await writeRedisAcl(Policy.load(o.policy), o.out, { force: o.force === true, cluster: o.cluster === true, ...(o.identity ? { identities: o.identity } : {}) });
      process.stdout.write(`wrote ${w.aclFile}\n`);
      for (const u of w.users) {
        process.stdout.write(`${u.spiffeId} → user ${u.username} (${u.credentialsFile}): publish [${u.publish.join(', ')}] subscribe [${u.subscribe.join(', ')}]\n`);
      }
      for (const n of w.notExpanded) process.stdout.write(`not expanded: ${n}\n`);
      process.stdout.write('Redis channel permissions cover PUBLISH and SUBSCRIBE alike: a user may use each of its channels both ways where it has the command; FlyMe\'s envelope checks keep them apart.\n');
    });
  return cmd;
}
