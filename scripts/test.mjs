#!/usr/bin/env node
// The README's test command: checks system prerequisites (installing them with apt when root),
// builds everything, then runs unit tests and black-box scenarios with node:test.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = [
  { bin: '/usr/bin/openssl', pkg: 'openssl' },
  { bin: '/usr/bin/make', pkg: 'make' },
  { bin: '/usr/bin/g++', pkg: 'g++' },
  { bin: '/usr/bin/python3', pkg: 'python3' },
  // gRPC interop: a Python grpcio client against the Node server (test/scenarios/grpc-python-interop)
  { bin: '/usr/lib/python3/dist-packages/grpc/__init__.py', pkg: 'python3-grpcio' },
  { bin: '/usr/lib/python3/dist-packages/grpc_tools/__init__.py', pkg: 'python3-grpc-tools' },
  // Redis pub/sub tests run a private TLS-only redis-server; redis-cli publishes the plain-text attack
  { bin: '/usr/bin/redis-server', pkg: 'redis-server' },
  { bin: '/usr/bin/redis-cli', pkg: 'redis-tools' },
  // systemd-analyze verify/security on flymed's unit (test/unit/daemon/unit.test.ts)
  { bin: '/usr/bin/systemd-analyze', pkg: 'systemd' },
  // the registry's DNS server is queried with a real resolver tool (test/scenarios/mesh-dns-dig)
  { bin: '/usr/bin/dig', pkg: 'bind9-dnsutils' },
  // the configuration `flyme haproxy config` writes is checked and run by HAProxy (test/scenarios/mesh-haproxy-routes)
  { bin: '/usr/sbin/haproxy', pkg: 'haproxy' },
];
const missing = needs.filter((n) => !existsSync(n.bin)).map((n) => n.pkg);
if (missing.length > 0) {
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0) {
    console.log(`flyme test: installing ${missing.join(' ')} with apt`);
    const r = spawnSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  } else {
    console.error(`flyme test: missing system packages. Run as root:\n  ${cmd}`);
    process.exit(1);
  }
}
if (!existsSync('node_modules/.package-lock.json')) {
  const r = spawnSync('npm', ['ci'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npm', ['run', 'build', '--silent']);
run(process.execPath, ['--test', '--test-concurrency=2', 'dist/test/']);
