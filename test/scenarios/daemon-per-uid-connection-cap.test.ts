// One local user cannot take every connection slot: past --max-connections-per-peer, that uid's further
// connections are refused (FLYME_TOO_MANY_CONNECTIONS) while another uid still connects and is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from '../../src/client.js';
import { startDaemon, isRoot, NOBODY } from '../helpers/daemon.js';

/** A separate process as uid 65534 holding `n` connections; it prints how many were admitted and refused. */
function hog(socket: string, n: number): Promise<{ admitted: number; refused: number; child: ReturnType<typeof spawn> }> {
  const script = `
    const net = require('node:net');
    let admitted = 0, refused = 0, done = 0;
    for (let i = 0; i < ${n}; i++) {
      const s = net.connect(${JSON.stringify(socket)});
      s.on('error', () => {});
      let buf = '';
      s.on('data', (d) => { buf += d; });
      s.on('connect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"whoami"}\\n'));
      const settle = (ok) => { if (s.settled) return; s.settled = true; ok ? admitted++ : refused++; if (++done === ${n}) console.log(JSON.stringify({ admitted, refused })); };
      s.on('data', () => { if (buf.includes('"result"')) settle(true); else if (buf.includes('FLYME_TOO_MANY_CONNECTIONS')) settle(false); });
      s.on('close', () => settle(false));
    }
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { ...NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ ...JSON.parse(out), child });
    });
    child.once('exit', (c) => reject(new Error(`hog exited ${c}`)));
  });
}

test('a uid at its connection cap is refused; another uid is served', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const d = await startDaemon(['--socket-mode', '0666', '--max-connections', '20', '--max-connections-per-peer', '5']);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const h = await hog(d.socket, 12);
    child = h.child;
    assert.equal(h.admitted, 5, JSON.stringify(h));
    assert.equal(h.refused, 7);
    // Control: root (another uid) still gets in while uid 65534 holds its five.
    const c = await connect(d.url, { callTimeoutMs: 5000 });
    assert.equal((await c.call<{ message: string }>('ping', { message: 'served' })).message, 'served');
    await c.close();
    assert.match(d.log(), /too many connections from uid 65534/);
  } finally {
    child?.kill('SIGKILL');
    await d.stop();
  }
});
