#!/usr/bin/env node
/** flyme: the FlyMe command-line client. Heavy modules (certificates, JWT) load only when used. */
import { Command } from '@commander-js/extra-typings';
import { FlyMeError } from '../errors.js';
import { connect } from '../rpc/client.js';
import { dialDaemon } from './dial.js';
import { durationOption } from '../options/flags.js';
import { VERSION } from '../version.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { formatAlert, formatAudit, formatList, formatStatus, formatWhoami } from './format.js';
import { onStdoutClosed } from './stdout.js';

const DEFAULT_CONNECT = 'unix:///run/flyme/flyme.sock';

const program = new Command('flyme')
  .description('FlyMe client: talk to flymed (ping, status, list, audit, alerts, kill …), prove its refusals (probe, doctor), manage certificates, tokens and policies, and use signed Redis pub/sub.')
  .version(VERSION)
  .option('-c, --connect <url>', `daemon address: unix:///path, unix://@name, unix+tls:///path, tls://HOST:PORT, tcp://127.0.0.1:PORT (env FLYME_CONNECT, default ${DEFAULT_CONNECT})`)
  .option('--certs <dir>', 'mTLS client credentials for unix+tls:// and tls://: client.pem, client.key.pem, root-ca.pem (env FLYME_CERTS; default /etc/flyme/certs as root, ~/.config/flyme/certs otherwise)')
  .option('--spiffe-socket <url>', 'mTLS identity from the SPIFFE Workload API instead of --certs (FlyMe\'s or SPIRE\'s agent), e.g. unix:///run/flyme/agent.sock')
  .option('--server-id <spiffe-id>', "the daemon's expected SPIFFE ID (default spiffe://<your trust domain>/flymed)")
  .option('--token <jwt>', 'present this token on the connection first (env FLYME_TOKEN); tokens bind to one connection')
  .option('--json', 'machine-readable JSON output')
  .addOption(durationOption('--timeout <duration>', 'per-call timeout: a number with a unit (ms, s, m, h, d)', '10s'))
  .configureHelp({ showGlobalOptions: true })
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  });

// Every printing command may lose its reader (`flyme certs inspect F | head -1`): the rest of the output is
// dropped quietly and the command keeps its exit code (no EPIPE stack trace). subscribe/sub also stop there.
onStdoutClosed(() => {});

/** Subcommand help lists flyme's global options too (commands added with addCommand do not inherit it). */
function withGlobalHelp<C extends Command<any, any, any>>(cmd: C): C {
  cmd.configureHelp({ showGlobalOptions: true });
  for (const sub of cmd.commands) withGlobalHelp(sub as Command<any, any, any>);
  return cmd;
}

function globals() {
  const o = program.opts();
  return {
    url: o.connect ?? process.env.FLYME_CONNECT ?? DEFAULT_CONNECT,
    json: o.json === true,
    timeoutMs: o.timeout,
    certs: o.certs ?? process.env.FLYME_CERTS,
    spiffeSocket: o.spiffeSocket,
    serverId: o.serverId,
    token: o.token ?? process.env.FLYME_TOKEN,
  };
}

/** Dial the daemon (plain, or mTLS with the certs dir) and speak JSON-RPC on it. */
async function open(g: ReturnType<typeof globals>) {
  const socket = await dialDaemon({ url: g.url, timeoutMs: g.timeoutMs, certs: g.certs, spiffeSocket: g.spiffeSocket, serverId: g.serverId });
  return connect(g.url, { socket, callTimeoutMs: g.timeoutMs });
}

async function rpc(method: string, params: Record<string, unknown>, human: (r: Record<string, unknown>) => string): Promise<void> {
  const g = globals();
  const client = await open(g);
  try {
    if (g.token) await client.call('authenticate', { token: g.token });
    const result = await client.call(method, params);
    process.stdout.write(g.json ? JSON.stringify(result) + '\n' : human(result) + '\n');
    if (result.ok === false) process.exitCode = EXIT.ERROR;
  } finally {
    await client.close();
  }
}

/** subscribe: print each pushed alert until the daemon closes the connection or Ctrl-C. */
async function follow(topics: string[]): Promise<void> {
  const g = globals();
  const client = await open(g);
  process.once('SIGINT', () => { void client.close(); });
  onStdoutClosed(() => { void client.close(); }); // the reader went away (`| head -1`): stop quietly
  try {
    if (g.token) await client.call('authenticate', { token: g.token });
    await client.call('subscribe', topics.length ? { topics } : {});
    process.stderr.write(`subscribed to ${topics.length ? topics.join(', ') : 'all alerts'}; Ctrl-C to stop\n`);
    for await (const n of client) {
      if (n.method !== 'alert') continue;
      process.stdout.write((g.json ? JSON.stringify(n.params) : formatAlert(n.params as Record<string, unknown>)) + '\n');
    }
    const why = client.closeReason;
    if (why && why.code !== 'FLYME_CONNECTION_CLOSED') throw why;
  } finally {
    // A refused authenticate or subscribe leaves the connection open: without this the command printed its error
    // and then waited for the daemon's idle timeout (60 s) before exiting.
    await client.close();
  }
}

program.command('ping').description('check that the daemon answers').argument('[message]', 'text to echo', 'ping')
  .action((message) => rpc('ping', { message }, (r) => `${String(r.message)} (daemon time ${String(r.time)})`));
program.command('whoami').description('show how the daemon identifies you (kernel credentials, certificate, token, roles)')
  .action(() => rpc('whoami', {}, formatWhoami));
program.command('status').description('daemon version, uptime, listeners, connections, requests served')
  .option('--prometheus', "the daemon's metrics in the Prometheus text format, printed as received (docs/operations.md, Metrics)")
  .action(async (o) => {
    if (!o.prometheus) return rpc('status', {}, formatStatus);
    await rpc('status', { format: 'prometheus' }, (r) => String(r.text).replace(/\n$/, ''));
  });

program.command('reload-policy').description('make flymed re-read its policy file (an invalid file is refused and the old policy stays)')
  .action(() => rpc('reloadPolicy', {}, (r) => `policy ${r.changed ? 'reloaded' : 'unchanged'}: ${String(r.source)}${r.version !== undefined ? ` version ${String(r.version)}` : ''} sha256 ${String(r.hash)}`));
program.command('list').description("list directories with the daemon's privilege, within the list roots your roles grant (symbolic links under a root are never followed)")
  .argument('<paths...>', 'absolute directory paths (normalized lexically: /a/b/.. is /a)')
  .option('--max-entries <n>', 'at most this many entries in all, over every path given (server default 1000)', (v) => Number(v))
  .action((paths, o) => rpc('list', { paths, ...(o.maxEntries ? { maxEntries: o.maxEntries } : {}) }, formatList));

program.command('audit').description("flymed's security self-audit: socket, key, policy and audit-log modes and owners, their directories' owners and modes, symbolic links, certificate expiry, audit-log integrity (exit 1 on a critical finding)")
  .option('--deep', 'also verify the whole audit-log chain and the daemon certificate chain')
  .option('--fix', 'repair what is safe (file and directory modes, through a descriptor, never through a symbolic link); every fix is recorded in the audit log')
  .action(async (o) => {
    await rpc('audit', { ...(o.deep ? { deep: true } : {}), ...(o.fix ? { fix: true } : {}) }, formatAudit);
  });
program.command('alerts').description('recent alerts, newest first (denials, failed handshakes, bursts, policy reload failures, expiring certificates, kill switch)')
  .option('-n, --limit <n>', 'how many (1..1000)', (v) => Number(v), 50)
  .action((o) => rpc('alerts', { limit: o.limit }, (r) => {
    const list = r.alerts as Array<Record<string, unknown>>;
    return list.length ? list.map(formatAlert).join('\n') : 'no alerts';
  }));
program.command('subscribe').description('print alerts as the daemon raises them, until Ctrl-C')
  .option('--topics <kinds>', 'only these alert kinds, comma-separated (e.g. denied,burst,kill)', (v) => v.split(',').filter(Boolean), [] as string[])
  .action((o) => follow(o.topics));
program.command('kill').description('engage the kill switch: close every other connection and lock the daemon down until `flyme unlock` (survives restarts)')
  .argument('<reason>', 'why (recorded in the audit log)')
  .action((reason) => rpc('kill', { reason }, (r) => (r.alreadyLockedDown ? `already locked down since ${String(r.since)}` : `locked down since ${String(r.since)}; only admins may call status and unlock`)));
program.command('unlock').description('release the kill switch')
  .action(() => rpc('unlock', {}, (r) => (r.wasLockedDown ? `unlocked (was locked down since ${String(r.since)})` : 'not locked down')));

// Subcommands with heavy imports are loaded only when named (option values before them are skipped).
const LAZY = new Set(['certs', 'token', 'policy', 'explain', 'audit-log', 'probe', 'doctor', 'pub', 'sub', 'redis', 'ca', 'agent', 'spiffe', 'install-unit', 'registry', 'router', 'envoy', 'haproxy', 'service']);
const first = process.argv.slice(2).find((a) => LAZY.has(a));
/** The mesh commands' identity: --certs DIR or --spiffe-socket URL (their own files: server.pem to serve, client.pem to call). */
const identityFlags = () => ({ certs: program.opts().certs as string | undefined, spiffeSocket: program.opts().spiffeSocket as string | undefined });
if (first === 'certs') program.addCommand(withGlobalHelp((await import('./certs.js')).certsCommand(undefined, () => globals().json)));
else program.command('certs').description('create a FlyMe CA and issue/inspect SPIFFE certificates (flyme certs --help)');
if (first === 'token') program.addCommand(withGlobalHelp((await import('./token.js')).tokenCommand(undefined, () => globals().json)));
else program.command('token').description('generate JWT keys, issue and verify tokens (flyme token --help)');
if (first === 'policy') program.addCommand(withGlobalHelp((await import('./policy.js')).policyCommand(() => globals().json)));
else program.command('policy').description('validate a policy file offline (flyme policy check FILE)');
if (first === 'audit-log') program.addCommand(withGlobalHelp((await import('./audit-log.js')).auditLogCommand(() => globals().json)));
else program.command('audit-log').description("verify or tail flymed's signed audit log (flyme audit-log --help)");
if (first === 'probe') program.addCommand(withGlobalHelp((await import('./probe/index.js')).probeCommand(globals)));
else program.command('probe').description('run an attack zoo against a running daemon; exit 1 if any attack was not refused (flyme probe --help)');
if (first === 'doctor') program.addCommand(withGlobalHelp((await import('./doctor.js')).doctorCommand(globals)));
else program.command('doctor').description('check the local installation (socket, daemon, certificates, clock, policy) and say what to fix');
if (first === 'pub') program.addCommand(withGlobalHelp((await import('./redis.js')).pubCommand(globals)));
else program.command('pub').description('publish a signed message on a Redis channel (flyme pub --help)');
if (first === 'sub') program.addCommand(withGlobalHelp((await import('./redis.js')).subCommand(globals)));
else program.command('sub').description('print verified messages from Redis channels (flyme sub --help)');
if (first === 'redis') program.addCommand(withGlobalHelp((await import('./redis.js')).redisCommand()));
else program.command('redis').description('Redis helpers: flyme redis acl');
if (first === 'ca') program.addCommand(withGlobalHelp((await import('./ca.js')).caCommand(() => globals().json)));
else program.command('ca').description('run the FlyMe CA service and manage join tokens and registration entries (flyme ca --help)');
if (first === 'agent') program.addCommand(withGlobalHelp((await import('./agent.js')).agentCommand()));
else program.command('agent').description('serve the SPIFFE Workload API on this host, attesting callers by kernel credentials (flyme agent --help)');
if (first === 'spiffe') program.addCommand(withGlobalHelp((await import('./spiffe.js')).spiffeCommand(() => globals().json)));
else program.command('spiffe').description('fetch this process\'s SVIDs from the Workload API, validate JWT-SVIDs (flyme spiffe --help)');
if (first === 'install-unit') program.addCommand(withGlobalHelp((await import('./install-unit.js')).installUnitCommand()));
else program.command('install-unit').description("print or write flymed's hardened systemd unit (flyme install-unit --help)");
if (first === 'registry') program.addCommand(withGlobalHelp((await import('./registry.js')).registryCommand(identityFlags, () => globals().json)));
else program.command('registry').description('run the service registry (names owned by SPIFFE IDs, expiring registrations, DNS), resolve or watch its records (flyme registry --help)');
if (first === 'router') program.addCommand(withGlobalHelp((await import('./router.js')).routerCommand(identityFlags)));
else program.command('router').description('route TLS by SNI to registered backends, passthrough (flyme router --help)');
if (first === 'envoy') program.addCommand(withGlobalHelp((await import('./proxy-config.js')).envoyCommand(identityFlags)));
else program.command('envoy').description('write an Envoy bootstrap that routes TLS by SNI to registered backends (flyme envoy config --help)');
if (first === 'haproxy') program.addCommand(withGlobalHelp((await import('./proxy-config.js')).haproxyCommand(identityFlags)));
else program.command('haproxy').description('write an HAProxy configuration that routes TLS by SNI to registered backends (flyme haproxy config --help)');
if (first === 'service') program.addCommand(withGlobalHelp((await import('./service.js')).serviceCommand(() => ({ certs: program.opts().certs, spiffeSocket: program.opts().spiffeSocket }))));
else program.command('service').description('the attested service: registers itself, serves endpoint.Endpoint Connect/Whoami over mTLS (flyme service --help)');
if (first === 'explain') program.addCommand(withGlobalHelp((await import('./policy.js')).explainCommand(() => globals().json)));
else program.command('explain').description('which binding/role grants METHOD to a uid/gid/SPIFFE ID under a policy file (flyme explain --help)');

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const g = globals();
  if (g.json && err instanceof FlyMeError) {
    process.stderr.write(JSON.stringify({ error: { code: err.code, message: err.message, ...err.data } }) + '\n');
  } else {
    process.stderr.write(`flyme: ${(err as Error).message}\n`);
  }
  // The command failed and is over (its finally blocks have run): exit now instead of waiting on a connection,
  // timer or child process a failing path left open (a refused `flyme sub` used to run on for ever, held by its
  // Redis connections). stderr is written synchronously to files and pipes, so the message above is out.
  process.exit(exitCodeFor(err));
}
