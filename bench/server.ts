/** Bench server process: `node server.js <kind> <socketPath>`; prints "ready" on stdout. */
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { RpcServer } from '../src/rpc/server.js';

const [kind, path] = process.argv.slice(2) as [string, string];
rmSync(path, { force: true });

if (kind === 'net') {
  // Baseline (1): the simplest correct hand-written NDJSON JSON-RPC server on node:net.
  createServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      let out = '';
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        out += JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { message: req.params.message, time: new Date().toISOString() } }) + '\n';
      }
      if (out) s.write(out);
    });
    s.on('error', () => s.destroy());
  }).listen(path, () => process.stdout.write('ready\n'));
} else {
  const server = new RpcServer({ limits: { maxConnections: 2000, idleTimeoutMs: 600_000 } });
  server.method({
    name: 'ping',
    permission: 'ping',
    params: Type.Object({ message: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
    handler: ({ message }) => ({ message: message ?? 'pong', time: new Date().toISOString() }),
  });
  await server.listen(`unix://${path}`);
  process.stdout.write('ready\n');
}
