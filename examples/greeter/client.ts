#!/usr/bin/env node
/**
 * Greeter client: `npm run example:greeter-client -- --connect ADDR --certs DIR [--token T] [--set GREETING] NAME`.
 * Exit codes: 0 ok, 3 PERMISSION_DENIED/UNAUTHENTICATED, 1 other errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Command } from '@commander-js/extra-typings';
import { SecureGrpcClientBuilder } from '../../src/grpc/index.js';
import { parseCertificates, spiffeIdFromCertificate } from '../../src/identity/index.js';
import { loadGreeter } from './greeter.js';

const program = new Command('greeter-client')
  .description('FlyMe gRPC example client')
  .requiredOption('--connect <addr>', 'unix:///path or host:port')
  .requiredOption('--certs <dir>', 'flyme certs dir: client.pem, client.key.pem, root-ca.pem')
  .option('--cert-name <name>', 'use NAME.pem / NAME.key.pem from the certs dir', 'client')
  .option('--server-id <id>', "the server's SPIFFE ID (default spiffe://<trust domain>/flymed, what flyme certs init issues)")
  .option('--token <jwt>', 'bearer token to send (env FLYME_TOKEN)')
  .option('--set <greeting>', 'call SetGreeting instead of SayHello')
  .argument('[name]', 'who to greet', 'world')
  .action(async (name, o) => {
    const files = { certPath: join(o.certs, `${o.certName}.pem`), keyPath: join(o.certs, `${o.certName}.key.pem`), caPath: join(o.certs, 'root-ca.pem') };
    const td = spiffeIdFromCertificate(parseCertificates(readFileSync(files.certPath, 'utf8'))[0]!).trustDomain;
    const builder = new SecureGrpcClientBuilder().withTls(files, o.serverId ?? `spiffe://${td}/flymed`);
    const token = o.token ?? process.env.FLYME_TOKEN;
    if (token) builder.withToken(() => ({ token, exp: Math.floor(Date.now() / 1000) + 3600 }));
    const { Client } = loadGreeter();
    const client = await builder.build(o.connect, Client);
    const done = (err: grpc.ServiceError | null, res?: object) => {
      client.close();
      if (err) {
        process.stderr.write(`greeter-client: ${grpc.status[err.code]}: ${err.details}\n`);
        process.exitCode = err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.UNAUTHENTICATED ? 3 : 1;
        return;
      }
      process.stdout.write(JSON.stringify(res) + '\n');
    };
    const md = new grpc.Metadata();
    if (o.set !== undefined) client.SetGreeting({ greeting: o.set }, md, done);
    else client.SayHello({ name }, md, done);
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`greeter-client: ${e.message}\n`);
  process.exit(1);
});
