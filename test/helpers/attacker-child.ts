/**
 * A separate attacker process (spawned by test/helpers/attackers.ts, then SIGKILLed): opens the connections of
 * its plan, writes what each one says, stops reading where told (so the server's answers stay unread in the
 * kernel and the kernel resets the connection when this process dies), then prints `ready` and waits.
 *
 * stdin: the JSON plan (see attackers.ts).
 */
import { readFileSync } from 'node:fs';
import { connect as h2Connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AttackPlan, AttackSocket } from './attackers.js';

// `node --test dist/test/` also runs this file as if it were a test: without the flag it does nothing.
if (!process.argv.includes('--plan-on-stdin')) process.exit(0);
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const plan = JSON.parse(input) as AttackPlan;
const files = (name: string) => (plan.certs ? readFileSync(`${plan.certs}/${name}`) : undefined);

function open(a: AttackSocket): Promise<void> {
  return new Promise((resolve) => {
    const where = a.path !== undefined ? { path: a.path } : { host: '127.0.0.1', port: a.port! };
    const data = a.data === undefined ? undefined : Buffer.from(a.data, 'base64');
    const settle = (s: Socket) => {
      s.on('error', () => undefined);
      if (a.h2) {
        const session = h2Connect('http://flyme.invalid', { createConnection: () => s });
        session.on('error', () => undefined);
        const stream = session.request(a.h2.headers);
        stream.on('error', () => undefined);
        if (a.h2.body) stream.write(Buffer.from(a.h2.body, 'base64'));
        if (a.unread) setTimeout(() => s.pause(), 50); // after the request went out
        resolve();
        return;
      }
      if (a.unread) s.pause(); // whatever the server answers stays in this process's receive queue
      if (data) s.write(data);
      resolve();
    };
    if (a.tls) {
      const s = tlsConnect({
        ...where, ca: files('root-ca.pem'), minVersion: 'TLSv1.3', checkServerIdentity: () => undefined,
        ...(a.noClientCert ? {} : { cert: files('client.pem'), key: files('client.key.pem') }),
        ...(a.alpn ? { ALPNProtocols: a.alpn } : {}),
      });
      s.on('error', () => resolve());
      s.once('secureConnect', () => settle(s));
    } else {
      const s = netConnect(where);
      s.on('error', () => resolve());
      s.once('connect', () => settle(s));
    }
  });
}

await Promise.all(plan.sockets.flatMap((a) => Array.from({ length: a.count ?? 1 }, () => open(a))));
// Give the server time to answer into the queues we do not read.
setTimeout(() => process.stdout.write('ready\n'), plan.settleMs ?? 200);
setInterval(() => undefined, 60_000); // wait for SIGKILL
