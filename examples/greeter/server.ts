#!/usr/bin/env node
/**
 * Greeter server: `npm run example:greeter-server -- --listen ADDR --certs DIR [--jwks FILE]`.
 * SayHello needs greeter.read, SetGreeting needs greeter.write. With --jwks, roles come from the verified
 * token; otherwise from the client's SPIFFE ID through the role map (--roles FILE, default in README.md).
 */
import { readFileSync } from 'node:fs';
import { Command } from '@commander-js/extra-typings';
import { createSecureServer, principalOf } from '../../src/grpc/index.js';
import { GREETER_METHOD_ROLES, loadGreeter, type HelloReply, type HelloRequest, type SetGreetingReply, type SetGreetingRequest } from './greeter.js';
import type * as grpc from '@grpc/grpc-js';

export const DEFAULT_ID_ROLES: Record<string, string[]> = {
  'spiffe://flyme.local/client': ['greeter.read', 'greeter.write'],
  'spiffe://flyme.local/reader': ['greeter.read'],
};

const program = new Command('greeter-server')
  .description('FlyMe gRPC example server (mTLS + SPIFFE IDs, optional JWT, per-method roles)')
  .requiredOption('--listen <addr>', 'unix:///path or host:port')
  .requiredOption('--certs <dir>', 'flyme certs dir: server.pem, server.key.pem, root-ca.pem')
  .option('--jwks <file>', 'require bearer tokens signed by these keys; roles come from the token')
  .option('--issuer <iss>', 'trusted token issuer (with --jwks)', 'flyme')
  .option('--audience <aud>', 'token audience (with --jwks)', 'greeter')
  .option('--roles <file>', 'JSON map SPIFFE ID → roles (without --jwks)')
  .action(async (o) => {
    const { service } = loadGreeter();
    let greeting = 'Hello';
    const s = await createSecureServer({
      certsDir: o.certs,
      methods: { ...GREETER_METHOD_ROLES },
      ...(o.jwks ? { tokens: { jwksPath: o.jwks, issuer: o.issuer, audience: o.audience } } : { idRoles: o.roles ? JSON.parse(readFileSync(o.roles, 'utf8')) : DEFAULT_ID_ROLES }),
      events: { emit: (e) => process.stderr.write(`greeter-server: ${e.kind} ${e.subject ?? ''}: ${e.message}\n`) },
    });
    s.server.addService(service, {
      SayHello: (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) => {
        const who = principalOf(call);
        cb(null, { message: `${greeting}, ${call.request.name} (from ${who.token?.sub ?? who.cert?.spiffeId})` });
      },
      SetGreeting: (call: grpc.ServerUnaryCall<SetGreetingRequest, SetGreetingReply>, cb: grpc.sendUnaryData<SetGreetingReply>) => {
        greeting = call.request.greeting.slice(0, 200);
        cb(null, { greeting });
      },
    });
    await s.bind(o.listen);
    process.stderr.write(`greeter-server listening on ${o.listen} as ${s.source.svid().spiffeId.toString()}\n`);
    const stop = () => { void s.shutdown().then(() => process.exit(0)); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`greeter-server: ${e.message}\n`);
  process.exit(1);
});
