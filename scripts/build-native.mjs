#!/usr/bin/env node
// Builds FlyMe's peer-credential addon (build/Release/flyme_peercred.node) with node-gyp.
// Runs as the package's `install` script and as the first step of `npm run build`.
//   node scripts/build-native.mjs [--force]
// Skips the build when the .node file is newer than binding.gyp and native/*.{cc,h}.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'flyme_peercred.node');
const force = process.argv.includes('--force') || process.env.FLYME_FORCE_NATIVE === '1';

function sources() {
  const dir = join(root, 'native');
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith('.cc') || f.endsWith('.h')).map((f) => join(dir, f))
    : [];
  return [join(root, 'binding.gyp'), ...files];
}

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return sources().every((f) => !existsSync(f) || statSync(f).mtimeMs <= built);
}

/** @returns {string[]} the command (argv) that runs node-gyp. */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

if (process.platform !== 'linux' && process.platform !== 'darwin') {
  console.warn(`flyme: peer-credential addon not built: unsupported platform ${process.platform}`);
  process.exit(0);
}

if (!force && upToDate()) {
  console.log('flyme: native addon up to date (build/Release/flyme_peercred.node)');
  process.exit(0);
}

const [cmd, ...pre] = findNodeGyp();
const args = [...pre, 'rebuild', '--release'];
const nodedir = process.env.npm_config_nodedir;
if (nodedir && existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${nodedir}`);
} else if (existsSync('/usr/include/node/node_api.h')) {
  args.push('--nodedir=/usr');
}

const started = Date.now();
const res = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (res.status !== 0 || !existsSync(output)) {
  process.stderr.write(res.stdout ?? '');
  process.stderr.write(res.stderr ?? '');
  if (res.error) console.error(`flyme: could not run node-gyp (${cmd}): ${res.error.message}`);
  console.error(
    [
      '',
      'flyme: building the native peer-credential addon failed.',
      `  command: ${[cmd, ...args].join(' ')}`,
      '  It needs Python 3, make and a C++ compiler. On Debian/Ubuntu:',
      '    apt-get install -y python3 make g++',
      '  then run: npm rebuild flyme   (or, in a checkout: npm run build)',
      '  In a project using flyme, approve its install script first (npm 11): npm install-scripts approve flyme',
      '  Without it, Unix-socket listeners cannot read kernel peer credentials and refuse all peers.',
    ].join('\n'),
  );
  process.exit(res.status && res.status > 0 ? res.status : 1);
}
console.log(`flyme: built build/Release/flyme_peercred.node in ${((Date.now() - started) / 1000).toFixed(1)} s`);
