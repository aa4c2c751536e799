#!/usr/bin/env node
/** flymed: the FlyMe daemon. */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { FlyMeError } from '../errors.js';
import { RpcServer } from '../rpc/server.js';
import { registerCoreMethods, VERSION } from './methods.js';
import { parseDuration, parseSize, parseMode } from '../cli/parse.js';

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
  .option('--listen <url>', `listen address, repeatable: unix:///path, unix://@name, tcp://127.0.0.1:PORT (default ${DEFAULT_LISTEN})`, collect, [] as string[])
  .option('--socket-mode <mode>', 'octal mode of Unix socket files', arg(parseMode), 0o660)
  .option('--socket-group <gid>', 'numeric group owner of Unix socket files', int)
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace', 'info')
  .option('--max-connections <n>', 'maximum concurrent connections', int, 100)
  .option('--max-in-flight <n>', 'maximum requests in flight per connection', int, 64)
  .option('--max-frame <size>', 'maximum frame (line) size, e.g. 1MiB', arg(parseSize), 1024 * 1024)
  .option('--idle-timeout <duration>', 'close connections idle this long, e.g. 60s', arg(parseDuration), 60_000)
  .option('--request-timeout <duration>', 'fail requests running longer, e.g. 30s', arg(parseDuration), 30_000)
  .option('--shutdown-grace <duration>', 'on SIGTERM, wait this long for in-flight requests', arg(parseDuration), 5_000)
  .action(async (opts) => {
    const log = pino({ name: 'flymed', level: opts.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
    if (process.getuid?.() !== 0) log.warn({ uid: process.getuid?.() }, 'flymed is not running as root: privileged operations will be limited to what this user may do');
    const server = new RpcServer({
      logger: log,
      limits: {
        maxConnections: opts.maxConnections,
        maxInFlight: opts.maxInFlight,
        maxFrameBytes: opts.maxFrame,
        idleTimeoutMs: opts.idleTimeout,
        requestTimeoutMs: opts.requestTimeout,
        shutdownGraceMs: opts.shutdownGrace,
      },
    });
    registerCoreMethods(server);
    const urls = opts.listen.length > 0 ? opts.listen : [DEFAULT_LISTEN];
    try {
      for (const url of urls) {
        await server.listen(url, { socketMode: opts.socketMode, ...(opts.socketGroup !== undefined ? { socketGroup: opts.socketGroup } : {}) });
      }
    } catch (err) {
      await server.close(0);
      log.error({ code: (err as FlyMeError).code }, (err as Error).message);
      process.stderr.write(`flymed: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    log.info({ listeners: server.listenerAddresses, version: VERSION }, 'flymed ready');
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      server.close().then(() => {
        log.info({}, 'stopped');
        process.exit(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`flymed: ${(err as Error).message}\n`);
  process.exit(1);
});
