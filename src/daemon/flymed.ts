#!/usr/bin/env node
/** flymed: the FlyMe daemon. */
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { FlyMeError } from '../errors.js';
import { RpcServer } from '../rpc/server.js';
import { checkListenAddress, parseAddress } from '../transport/address.js';
import { TokenAuthority, issuerFromFlags, registerAuthenticate } from './tokens.js';
import { setupPolicy, DEFAULT_POLICY_PATH, type DaemonPolicy } from './policy.js';
import { ListRoots, registerList } from './list.js';
import { limitSecurityEvents, type SecurityEvent, type SecurityEventSink } from '../auth/events.js';
import { coalesceSecurityEvents } from '../auth/coalesce-events.js';
import type { AuditLog } from '../audit/index.js';
import { openDaemonAudit } from './audit.js';
import { AlertCenter } from './alerts.js';
import { registerAlertMethods } from './alert-methods.js';
import { KillSwitch, registerKillMethods } from './killswitch.js';
import { watchCertExpiry } from './cert-expiry.js';
import { registerSelfAudit } from './self-audit/index.js';
import { dirname } from 'node:path';
import { defaultAuditLogPath } from '../audit/files.js';
import type { DaemonTls } from './tls-setup.js';
import type { X509Source } from '../identity/source/types.js';
import { registerCoreMethods, VERSION } from './methods.js';
import { durationOption, parseSize, parseMode } from '../options/flags.js';
import { configKeys, diffConfig, mergeConfig, readDaemonConfig } from './config.js';
import { DaemonMetrics } from './metrics/registry.js';
import { parseMetricsAddress } from './metrics/http.js';

const DEFAULT_LISTEN = 'unix:///run/flyme/flyme.sock';

const collect = (v: string, prev: string[]) => [...prev, v];
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const arg = <T>(f: (v: string) => T) => (v: string) => {
  try {
    return f(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const program = new Command('flymed')
  .description('The FlyMe daemon: serves a scoped JSON-RPC API on Unix sockets to kernel-identified peers.')
  .version(VERSION)
  .addOption(new Option('--listen <url>', 'listen address, repeatable: unix:///path (kernel peer credentials), unix://@name (Linux abstract: no file permissions), unix+tls:///path (peer credentials + mTLS), tls://HOST:PORT (mTLS over TCP), tcp://127.0.0.1:PORT (loopback only: no peer identity)').argParser(collect).default([] as string[], DEFAULT_LISTEN))
  .addOption(new Option('--socket-mode <mode>', 'octal mode of Unix socket files; a missing socket directory is created 0750 (owner and group only), so for a wider mode (e.g. 0666) to reach other users create the directory first with the mode you want (e.g. 0755)').argParser(arg(parseMode)).default(0o660, '0660'))
  .option('--socket-group <gid>', 'numeric group owner of Unix socket files', int)
  .option('--config <file>', 'YAML file of settings: any flag below by its long name (max-connections: 100, listen: [unix:///run/flyme/flyme.sock]); flags given here win; SIGHUP re-reads it (docs/operations.md)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info' as const))
  .option('--max-connections <n>', 'maximum concurrent connections', int, 100)
  .option('--max-connections-per-peer <n>', 'maximum concurrent connections of one peer (one uid on Unix sockets, one address on TCP), so that one user cannot take every slot', int, 32)
  .option('--max-in-flight <n>', 'maximum requests in flight per connection', int, 64)
  .addOption(new Option('--max-frame <size>', 'maximum frame (line) size, e.g. 1MiB').argParser(arg(parseSize)).default(1024 * 1024, '1MiB'))
  .addOption(durationOption('--idle-timeout <duration>', 'close connections idle this long: a number with a unit (ms, s, m, h, d)', '60s'))
  .addOption(durationOption('--request-timeout <duration>', 'fail requests running longer: a number with a unit (ms, s, m, h, d)', '30s'))
  .option('--certs <dir>', 'mTLS credentials dir for unix+tls:// and tls:// listeners: server.pem, server.key.pem, root-ca.pem (env FLYME_CERTS; default /etc/flyme/certs as root, ~/.config/flyme/certs otherwise)')
  .option('--spiffe-socket <url>', 'take the mTLS identity from the SPIFFE Workload API (FlyMe\'s or SPIRE\'s agent) instead of --certs; rotation reaches new and live connections')
  .option('--spiffe-id <id>', 'with --spiffe-socket: present this SVID (default: the first the Workload API lists)')
  .addOption(new Option('--allow-id <spiffe-id>', 'mTLS: admit this client SPIFFE ID (repeatable)').argParser(collect).default([] as string[], "any ID in the server's trust domain"))
  .addOption(new Option('--allow-prefix <path>', 'mTLS: admit client IDs under this path of the trust domain, e.g. /clients (repeatable)').argParser(collect).default([] as string[], 'none'))
  .addOption(new Option('--admin-id <spiffe-id>', 'grant the admin role to this client SPIFFE ID (repeatable)').argParser(collect).default([] as string[], 'none'))
  .addOption(durationOption('--handshake-timeout <duration>', 'TLS handshake deadline (a handshake is dropped up to a quarter of it, at most 250 ms, later): a number with a unit (ms, s, m, h, d)', '10s'))
  .option('--jwks <file>', 'accept tokens (authenticate method) signed by the keys in this JWKS file (reloaded on change)')
  .option('--token-issuer <iss>', 'the trusted token issuer (iss claim); required with --jwks')
  .option('--token-audience <aud>', 'the audience tokens must name', 'flymed')
  .option('--token-roles <file>', 'JSON role map {"<iss>": {"<sub>": ["role", ...]}}: roles a token may hold (claimed roles outside it are ignored)')
  .option('--policy <file>', `policy file (YAML or JSON; docs/policy.md); default ${DEFAULT_POLICY_PATH} when it exists, else uid 0 and the daemon's uid are admins`)
  .option('--audit-log <file>', 'signed audit log (docs/audit.md); default /var/lib/flyme/audit.log as root, ~/.local/state/flyme/audit.log otherwise')
  .option('--audit-key <file>', 'Ed25519 audit signing key, created 0600 if missing (default audit-key.pem beside the audit log)')
  .addOption(new Option('--audit-rotate <size>', 'rotate the audit log at this size').argParser(arg(parseSize)).default(10 * 1024 * 1024, '10MiB'))
  .addOption(new Option('--subscriber-backlog <size>', 'drop an alert subscriber that falls this far behind').argParser(arg(parseSize)).default(256 * 1024, '256KiB'))
  .option('--state-dir <dir>', 'where the kill switch keeps its lockdown state (default: the audit log\'s directory)')
  .addOption(durationOption('--shutdown-grace <duration>', 'on SIGTERM, wait this long for in-flight requests: a number with a unit (ms, s, m, h, d)', '5s'))
  .option('--metrics <url>', 'serve Prometheus metrics (GET /metrics, plain HTTP) at tcp://HOST:PORT, e.g. tcp://127.0.0.1:9464; loopback only unless --metrics-allow-remote (docs/operations.md, Metrics). `flyme status --prometheus` works without it')
  .option('--metrics-allow-remote', 'allow a non-loopback --metrics address: metrics have no authentication, so anyone who can reach the port reads the daemon\'s operational data (call, refusal and denial counts)')
  .addOption(durationOption('--coalesce-events <duration>', 'a duration (ms, s, m, h, d): refusals of one kind by one principal within this window become one audit record and alert plus a counted summary; 0ms records each one (unbounded: only where every event must be kept)', '1s', { maxMs: 60_000, allowZero: true }))
  .action(async (cliOpts) => {
    const ignoreHup = () => {}; // a reload signal before the daemon is ready must not kill it (SIGHUP's default)
    process.on('SIGHUP', ignoreHup);
    const keys = configKeys(program.options);
    const fromCli = (attr: string) => program.getOptionValueSource(attr as keyof typeof cliOpts) === 'cli';
    let opts = cliOpts;
    try {
      if (cliOpts.config) opts = mergeConfig(cliOpts, readDaemonConfig(cliOpts.config, keys), fromCli);
    } catch (err) {
      process.stderr.write(`flymed: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    const log = pino({ name: 'flymed', level: opts.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
    if (process.getuid?.() !== 0) log.warn({ uid: process.getuid?.() }, 'flymed is not running as root: privileged operations will be limited to what this user may do');
    const adminIds = new Set(opts.adminId);
    let policy: DaemonPolicy | undefined;
    /** Every security event goes to each of these (audit log, alerts). */
    const sinks: SecurityEventSink[] = [];
    // Failures anyone can cause are coalesced per principal (one record, then a count per second) before
    // they reach the alert ring and the audit log.
    const fanOut = {
      emit: (e: SecurityEvent) => {
        for (const s of sinks) {
          try { s.emit(e); } catch { /* a sink reports its own failures */ }
        }
      },
    };
    const coalescing = (windowMs: number): SecurityEventSink & { flush(): void } => {
      if (windowMs <= 0) return { ...fanOut, flush: () => {} };
      const failures = coalesceSecurityEvents(fanOut, { windowMs });
      // Allowed privileged calls too, past 10 per principal and method in a window (each record said only
      // "list called"): one caller allowed `list` wrote ~850 signed records a second and so rotated its own
      // earlier denials out of the audit log within two minutes.
      const calls = coalesceSecurityEvents(failures, { windowMs, kinds: ['privileged_call'], passPerKey: 10 });
      return { emit: (e) => calls.emit(e), flush: () => { calls.flush(); failures.flush(); } };
    };
    let coalescer = coalescing(opts.coalesceEvents);
    // Counted for metrics before coalescing (every denial and token refusal), then coalesced.
    const metrics = new DaemonMetrics();
    const events = metrics.countEvents({ emit: (e: SecurityEvent) => coalescer.emit(e), flush: () => coalescer.flush() });
    let audit: AuditLog | undefined;
    const alerts = new AlertCenter({ maxSubscriberBacklogBytes: opts.subscriberBacklog });
    sinks.push(alerts);
    const stateDir = opts.stateDir ?? dirname(opts.auditLog ?? defaultAuditLogPath());
    const killSwitch = new KillSwitch(stateDir, (p) => policy!.store.current.isAdmin(p));
    if (killSwitch.state.lockedDown) log.warn({ event: 'locked_down', ...killSwitch.state }, 'starting in lockdown (kill switch engaged; flyme unlock to release)');
    const server = new RpcServer({
      events,
      observer: metrics.observer,
      authorize: (p, permission, method) => killSwitch.gate(p, method) ?? policy!.authorize(p, permission, method),
      admitPrincipal: (p) => killSwitch.admit(p),
      logger: log,
      onRefused: (reason) => {
        const r = typeof reason.data.reason === 'string' ? reason.data.reason : undefined;
        if (r) handshakeFailures[r] = (handshakeFailures[r] ?? 0) + 1;
      },
      assignRoles: (p) => policy!.assignRoles(p),
      limits: {
        maxConnections: opts.maxConnections,
        maxConnectionsPerPeer: opts.maxConnectionsPerPeer,
        maxInFlight: opts.maxInFlight,
        maxFrameBytes: opts.maxFrame,
        idleTimeoutMs: opts.idleTimeout,
        requestTimeoutMs: opts.requestTimeout,
        shutdownGraceMs: opts.shutdownGrace,
      },
    });
    const urls = opts.listen.length > 0 ? opts.listen : [DEFAULT_LISTEN];
    let tls: DaemonTls | undefined;
    let certsDir: string | undefined;
    const tokens = new TokenAuthority(log);
    const handshakeFailures: Record<string, number> = {};
    registerCoreMethods(server, () => ({
      ...(policy ? { policy: policy.status() } : {}),
      alerts: { ...alerts.counts, subscribers: alerts.subscriberCount, droppedSubscribers: alerts.dropped },
      killSwitch: killSwitch.state,
      ...(audit ? { audit: (({ publicKey: _k, ...st }) => st)(audit.state) } : {}),
      ...(tls ? {
        tls: {
          spiffeId: tls.upgrader.spiffeId,
          serial: tls.upgrader.currentSerial,
          notAfter: tls.upgrader.notAfter.toISOString(),
          clientAuthorizer: tls.authorizerDescription,
          handshakeFailures,
        },
      } : {}),
    }), metrics);
    try {
      for (const u of urls) checkListenAddress(parseAddress(u)); // before anything is opened or bound
      const metricsAt = opts.metrics ? parseMetricsAddress(opts.metrics, opts.metricsAllowRemote) : undefined;
      audit = await openDaemonAudit({
        ...(opts.auditLog ? { path: opts.auditLog } : {}),
        ...(opts.auditKey ? { keyPath: opts.auditKey } : {}),
        rotateBytes: opts.auditRotate,
      });
      // Refused connections are anyone's to cause: bounded per second in the audit log (alerts see them all).
      sinks.push(limitSecurityEvents(audit, ['handshake_failed', 'unauthenticated', 'connection_refused']));
      if (opts.jwks && !opts.tokenIssuer) throw new FlyMeError('FLYME_INVALID_CONFIG', '--jwks needs --token-issuer (the iss claim to trust)');
      policy = await setupPolicy(server, {
        ...(opts.policy ? { path: opts.policy } : {}),
        adminIds,
        ...(opts.jwks ? { flagIssuer: issuerFromFlags({ jwksPath: opts.jwks, issuer: opts.tokenIssuer!, audience: opts.tokenAudience, ...(opts.tokenRoles ? { rolesPath: opts.tokenRoles } : {}) }) } : {}),
        tokens,
        events,
        log,
      });
      registerAuthenticate(server, tokens, log, events);
      registerAlertMethods(server, alerts);
      registerSelfAudit(server, () => ({
        sockets: urls.map((u) => parseAddress(u)).flatMap((a) => (a.kind === 'unix' ? [{ path: a.path, mode: opts.socketMode }] : [])),
        ...(tls && certsDir ? { certsDir } : {}),
        ...(policy?.store.path ? { policyPath: policy.store.path } : {}),
        stateDir,
        audit: audit!,
        events,
      }));
      registerKillMethods(server, killSwitch, { events, flushAudit: () => audit!.flush() });
      // List roots are resolved now and at every reload, never by a call (see daemon/list.ts).
      const listRoots = new ListRoots(() => policy!.store.current);
      await listRoots.resolve(policy!.store.current);
      policy!.store.onChange((next) => listRoots.resolve(next).then(() => undefined));
      registerList(server, (p) => listRoots.rootsFor(p));
      if (urls.some((u) => parseAddress(u).tls)) {
        const { setupDaemonTls } = await import('./tls-setup.js');
        let source: X509Source;
        if (opts.spiffeSocket) {
          const { workloadX509Source } = await import('../spiffe/source.js');
          source = await workloadX509Source({ address: opts.spiffeSocket, ...(opts.spiffeId ? { spiffeId: opts.spiffeId } : {}), onStreamError: (e) => log.warn({ event: 'workload_api_error', code: e.code }, e.message) });
        } else {
          const { certsDirSource, defaultCertsDir } = await import('../identity/source/files.js');
          certsDir = opts.certs ?? process.env.FLYME_CERTS ?? defaultCertsDir();
          source = await certsDirSource(certsDir, 'server');
        }
        tls = setupDaemonTls({
          source,
          allowIds: opts.allowId,
          allowPrefixes: opts.allowPrefix,
          handshakeTimeoutMs: opts.handshakeTimeout,
          events,
        }, log);
        if (source.reload) process.on('SIGHUP', () => {
          tls!.upgrader.reload().then(
            () => log.info({ event: 'tls_reloaded', serial: tls!.upgrader.currentSerial }, 'TLS credentials reloaded (SIGHUP)'),
            (e: FlyMeError) => log.error({ event: 'tls_reload_failed', code: e.code }, `TLS reload refused, keeping the old credentials: ${e.message}`),
          );
        });
      }
      for (const url of urls) {
        await server.listen(url, {
          socketMode: opts.socketMode,
          ...(opts.socketGroup !== undefined ? { socketGroup: opts.socketGroup } : {}),
          ...(tls && parseAddress(url).tls ? { secure: tls.upgrader } : {}),
        });
      }
      metrics.attach({ server, alerts, audit, ...(tls ? { certificateNotAfter: () => tls!.upgrader.notAfter } : {}) });
      if (metricsAt) {
        const url = await metrics.serve(metricsAt, (e) => log.error({ event: 'metrics_failed', err: String(e) }, 'metrics exposition failed'));
        log.info({ event: 'metrics_listening', url }, `serving metrics at ${url}`);
      }
    } catch (err) {
      tls?.stopWatching();
      policy?.close();
      tokens.close();
      await metrics.close();
      await audit?.close();
      await server.close(0);
      log.error({ code: (err as FlyMeError).code }, (err as Error).message);
      process.stderr.write(`flymed: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    if (cliOpts.config) {
      // SIGHUP: the file again (all or nothing); live settings applied, the others reported and kept.
      const path = cliOpts.config;
      let running: Record<string, unknown> = { ...opts };
      const applyLive = (o: typeof opts) => {
        log.level = o.logLevel;
        server.updateLimits({
          maxConnections: o.maxConnections, maxConnectionsPerPeer: o.maxConnectionsPerPeer, maxInFlight: o.maxInFlight,
          maxFrameBytes: o.maxFrame, idleTimeoutMs: o.idleTimeout, requestTimeoutMs: o.requestTimeout, shutdownGraceMs: o.shutdownGrace,
        });
        const before = coalescer;
        coalescer = coalescing(o.coalesceEvents);
        before.flush();
      };
      process.on('SIGHUP', () => {
        let change;
        try {
          change = diffConfig(keys, running, mergeConfig(cliOpts, readDaemonConfig(path, keys), fromCli));
        } catch (err) {
          const e = err as FlyMeError;
          log.error({ event: 'config_reload_failed', code: e.code, file: path }, `config reload refused, keeping the running settings: ${e.message}`);
          events.emit({ kind: 'config_reload_failed', severity: 'critical', source: 'flymed', subject: path, decision: 'deny', reason: e.code, message: `config reload (SIGHUP) refused, keeping the running settings: ${e.message}` });
          return;
        }
        running = change.effective;
        if (change.live.length) applyLive(running as typeof opts);
        for (const key of change.restart) log.warn({ event: 'config_restart_needed', key, file: path }, `${key} changed: needs a restart (running value kept)`);
        if (change.restart.length) {
          events.emit({ kind: 'config_restart_needed', severity: 'warning', source: 'flymed', subject: path, message: `${change.restart.join(', ')} changed in ${path}: needs a restart (running values kept)`, details: { keys: change.restart } });
        }
        log.info({ event: 'config_reloaded', file: path, applied: change.live, restartNeeded: change.restart }, 'config reloaded');
        events.emit({ kind: 'config_reloaded', severity: 'info', source: 'flymed', subject: path, decision: 'allow', message: `config reloaded (SIGHUP): applied ${change.live.join(', ') || 'nothing'}`, details: { applied: change.live, restartNeeded: change.restart } });
      });
    }
    process.on('SIGHUP', () => {
      policy!.reload('SIGHUP').catch((e: FlyMeError) => log.error({ event: 'policy_reload_failed', code: e.code }, `policy reload refused, keeping the old policy: ${e.message}`));
    });
    process.off('SIGHUP', ignoreHup);
    const stopExpiryWatch = tls ? watchCertExpiry(() => tls!.upgrader.notAfter, tls.upgrader.spiffeId, events) : () => {};
    // The stop handlers are in place before flymed says it is ready: a SIGTERM sent the moment "flymed ready"
    // appears (systemd, a test, a supervisor) must find them, or Node's default action kills the process without
    // its daemon_stopped record and with queued audit records unwritten.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      tls?.stopWatching();
      stopExpiryWatch();
      policy?.close();
      tokens.close();
      server.close().then(async () => {
        await metrics.close();
        events.flush();
        events.emit({ kind: 'daemon_stopped', severity: 'info', source: 'flymed', message: `flymed stopped (${signal})` });
        await audit!.close();
        log.info({}, 'stopped');
        process.exit(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    events.emit({
      kind: 'daemon_started', severity: 'info', source: 'flymed', message: `flymed ${VERSION} started`,
      details: { pid: process.pid, uid: process.getuid?.(), listeners: server.listenerAddresses, policy: policy.status() },
    });
    log.info({ listeners: server.listenerAddresses, version: VERSION, policy: policy.status(), audit: audit.state.file, auditKey: audit.keyFingerprint }, 'flymed ready');
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`flymed: ${(err as Error).message}\n`);
  process.exit(1);
});
