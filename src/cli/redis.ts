/** `flyme pub`, `flyme sub` and `flyme redis acl`: signed pub/sub from the command line (docs/redis.md). */
import { existsSync } from 'node:fs';
import { Command } from '@commander-js/extra-typings';
import { flymeError } from '../errors.js';
import { Policy } from '../auth/policy/index.js';
import { SecureRedis, redisAclRules } from '../redis/index.js';
import { defaultCertsDir } from './certs.js';
import { onStdoutClosed } from './stdout.js';

const DEFAULT_POLICY = '/etc/flyme/policy.yaml';
const DEFAULT_REDIS = 'rediss://127.0.0.1:6380';

/** The program's global options these commands use (`--certs`, `--json`). */
export interface RedisGlobals { certs?: string | undefined; json: boolean }

interface Common { redis: string; name: string; policy?: string; serverId?: string; allowInsecure?: true }

/** The options pub and sub share (applied before their own arguments are typed). */
function common(name: string) {
  return new Command(name)
    // --certs DIR (with NAME.pem, NAME.key.pem, root-ca.pem) and --json are flyme's global options
    .option('--redis <url>', `Redis URL, rediss:// (env FLYME_REDIS, default ${DEFAULT_REDIS})`, process.env.FLYME_REDIS ?? DEFAULT_REDIS)
    .option('--name <name>', 'identity file name in the certs dir', 'client')
    .option('--policy <file>', `policy file whose channels: section is the ACL (default ${DEFAULT_POLICY}; without one, the error shows a minimal file)`)
    .option('--server-id <id>', "the Redis server's SPIFFE ID (default: any ID of your trust domain)")
    .option('--allow-insecure', 'permit redis:// (plain text, no certificate)');
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
  const policy = loadPolicy(o.policy);
  if (!o.allowInsecure && /^redis:/i.test(o.redis)) {
    // The library's refusal names its option (allowInsecure); from the command line it is a flag.
    throw flymeError('FLYME_INVALID_CONFIG', `${o.redis} is plain text without a client certificate; use rediss:// (or pass --allow-insecure explicitly)`, { url: o.redis });
  }
  return SecureRedis.connect({
    url: o.redis, certsDir: g.certs ?? defaultCertsDir(), name: o.name, policy,
    ...(o.serverId ? { serverId: o.serverId } : {}),
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
    .action(async (channel, message, o) => {
      const r = await open(o as Common, globals());
      try {
        const n = await r.publish(channel, message, { contentType: o.contentType });
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
    .action(async (channels, o) => {
      const r = await open(o as Common, globals());
      const subs = await Promise.all(channels.map((c) => r.subscribe(c)));
      process.stderr.write(`subscribed to ${channels.join(', ')} as ${r.spiffeId}\n`);
      const stop = () => { void r.close().then(() => process.exit(0)); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
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
    .description("print Redis ACL rules (ACL SETUSER …) mirroring the policy file's channel ACL, as a second line of defence")
    .option('--policy <file>', `policy file (default ${DEFAULT_POLICY})`, DEFAULT_POLICY)
    .action((o) => {
      process.stdout.write(redisAclRules(Policy.load(o.policy).document.channels ?? []).join('\n') + '\n');
    });
  return cmd;
}
