#!/usr/bin/env node
// The README demo: create a CA and certificates, start flymed with mTLS on a temporary socket, make a few client calls, show refused peers (another uid, the fake client),
// stop cleanly. Runs the built binaries exactly as a user would.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const flymed = join(root, 'dist/src/daemon/flymed.js');
const flyme = join(root, 'dist/src/cli/flyme.js');
const dir = mkdtempSync(join(tmpdir(), 'flyme-demo-'));
chmodSync(dir, 0o755);
const url = `unix+tls://${join(dir, 'flyme.sock')}`;
const certs = join(dir, 'certs');
const isRoot = process.getuid?.() === 0;

// The temp dir holds the demo CA's private key: remove it however the demo ends (done, error, Ctrl-C, SIGTERM).
let d;
const cleanup = () => {
  if (d && d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const say = (s) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const cli = (args, extra = {}) => {
  process.stdout.write(`$ flyme ${args.join(' ')}${extra.uid !== undefined ? `   (as uid ${extra.uid})` : ''}\n`);
  const r = spawnSync(process.execPath, [flyme, '--connect', url, '--certs', certs, ...args], { encoding: 'utf8', ...extra });
  process.stdout.write(r.stdout + r.stderr.replace(/^/gm, '  ').trimEnd() + (r.stderr ? '\n' : '') + `  (exit ${r.status})\n`);
  return r.status;
};

say('creating a private CA and SPIFFE certificates (flyme certs init)');
{
  const r = spawnSync(process.execPath, [flyme, 'certs', 'init', '--dir', certs], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0) process.exit(1);
  if (isRoot) for (const f of ['client.pem', 'client.key.pem', 'root-ca.pem']) chmodSync(join(certs, f), 0o644); // let the demo's uid 65534 client read them
  chmodSync(certs, 0o755);
}
say(`starting flymed on ${url}: mutual TLS 1.3 + kernel peer credentials (socket mode ${isRoot ? '0666 so another uid can reach it' : '0660'})`);
d = spawn(process.execPath, [flymed, '--listen', url, '--certs', certs, '--audit-log', join(dir, 'audit', 'audit.log'), '--socket-mode', isRoot ? '0666' : '0660'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
d.stderr.on('data', (b) => { log += b; });
const deadline = Date.now() + 10000;
while (!log.includes('flymed ready')) {
  if (d.exitCode !== null || Date.now() > deadline) { console.error(log); process.exit(1); }
  await new Promise((r) => setTimeout(r, 20));
}
let failed = 0;
say('client calls');
failed += cli(['ping', 'hello from the demo']) !== 0;
failed += cli(['whoami']) !== 0;
failed += cli(['status']) !== 0;
const nobodyCanRun = isRoot && spawnSync(process.execPath, [flyme, '--version'], { uid: 65534, gid: 65534 }).status === 0;
if (isRoot && !nobodyCanRun) {
  say(`skipping the unprivileged-peer part: uid 65534 cannot read ${root} (a parent directory is closed to other users)`);
} else if (isRoot) {
  say('an unprivileged peer (uid 65534): identified by the kernel, allowed whoami, refused status');
  failed += cli(['whoami'], { uid: 65534, gid: 65534 }) !== 0;
  failed += cli(['status'], { uid: 65534, gid: 65534 }) !== 3;
} else {
  say('run the demo as root to also see an unprivileged uid being refused');
}
say('the fake client: a control with the real client certificate, then no certificate, a self-signed leaf, one from another CA, plain JSON-RPC (all must be refused)');
{
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/fake-client.js'), '--connect', url, '--certs', certs], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  failed += r.status !== 0;
}
say('stopping flymed (SIGTERM)');
d.kill('SIGTERM');
const code = await new Promise((r) => d.on('exit', r));
process.stdout.write(`flymed exited with ${code}\n`);
process.exit(failed || code !== 0 ? 1 : 0);
