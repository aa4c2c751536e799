// The npm package as a user gets it: `npm pack`, then install the tarball into an empty project the way the
// README says (install, approve flyme's install script, `npm rebuild flyme`), and check that the tarball holds
// no tests, benchmarks, examples or source maps; the native addon is built from the tarball's sources and
// reads kernel peer credentials; the binaries run; every subpath imports with exactly the repo's surface and
// deep imports are refused; and a strict `nodenext` TypeScript project type-checks every docs/api.md example.
// Slow (npm install from the local npm cache, a native build, tsc): one file, one property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '../helpers/daemon.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string; exports: Record<string, { default: string; types: string } | string>; bin: Record<string, string>;
};
const SUBPATHS = Object.keys(PKG.exports).filter((s) => typeof PKG.exports[s] === 'object');
const specifier = (sub: string): string => (sub === '.' ? 'flyme' : `flyme/${sub.slice(2)}`);

/** The environment of the test minus npm's own variables (set when the suite runs under `npm test`). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

interface Run { code: number | null; stdout: string; stderr: string }
function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.once('error', fail);
    p.once('close', (code) => done({ code, stdout, stderr }));
  });
}
async function ok(cmd: string, args: string[], cwd: string): Promise<Run> {
  const started = Date.now();
  const r = await run(cmd, args, cwd);
  console.error(`package-install: ${((Date.now() - started) / 1000).toFixed(1)} s for ${cmd} ${args.slice(0, 2).join(' ')}`);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Runtime names of every subpath, imported from `base` (a directory holding package.json and dist). */
const SURFACE_SCRIPT = `
const subs = JSON.parse(process.argv[1]);
const out = {};
for (const s of subs) out[s] = Object.keys(await import(s)).sort();
let deep = 'imported';
try { await import('flyme/dist/src/auth/jwt/key-files.js'); } catch (e) { deep = e.code; }
console.log(JSON.stringify({ out, deep }));
`;

async function repoSurface(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const sub of SUBPATHS) {
    const target = PKG.exports[sub] as { default: string };
    out[specifier(sub)] = Object.keys(await import(pathToFileURL(join(ROOT, target.default)).href)).sort();
  }
  return out;
}

test('the packed tarball installs into an empty project and works as documented', { timeout: 240_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'flyme-pkg-'));
  const project = join(work, 'consumer');
  let daemon: ChildProcess | undefined;
  t.after(() => {
    daemon?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  // 1. npm pack: dist is built (this test runs from it), so prepare's tsc is skipped.
  const packed = JSON.parse((await ok('npm', ['pack', '--pack-destination', work, '--ignore-scripts', '--json'], ROOT)).stdout) as
    Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  const tarball = join(work, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  t.diagnostic(`tarball ${packed[0]!.filename}: ${packed[0]!.size} bytes, ${files.length} files, top level: ${[...new Set(files.map((f) => f.split('/')[0]))].sort().join(' ')}`);
  const unwanted = files.filter((f) =>
    /^(dist\/(test|bench|examples)|test|bench|examples|src|build|node_modules|\.ci|\.tmp)(\/|$)/.test(f) || f.endsWith('.map') || /(^|\/)\.tmp/.test(f) || f.endsWith('.tsbuildinfo'));
  assert.deepEqual(unwanted, [], 'the tarball holds no tests, benchmarks, examples, sources, build output or source maps');
  for (const sub of SUBPATHS) {
    const target = PKG.exports[sub] as { default: string; types: string };
    for (const f of [target.default, target.types]) assert.ok(files.includes(f.replace(/^\.\//, '')), `${f} is in the tarball`);
  }
  for (const bin of Object.values(PKG.bin)) assert.ok(files.includes(bin), `${bin} is in the tarball`);
  assert.deepEqual(files.filter((f) => f.startsWith('scripts/')), ['scripts/build-native.mjs'], 'of scripts/, only the addon build ships');
  for (const f of ['binding.gyp', 'native/peercred.cc', 'scripts/build-native.mjs', 'proto/workload.proto', 'docs/api.md']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }

  // 2. Install as the README says, from the local npm cache (the repo's `npm ci` filled it).
  await ok('mkdir', ['-p', project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'flyme-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
  await ok('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project);
  await ok('npm', ['install-scripts', 'approve', 'flyme'], project);
  await ok('npm', ['rebuild', 'flyme'], project);
  const installed = join(project, 'node_modules', 'flyme');
  const addon = join(installed, 'build', 'Release', 'flyme_peercred.node');
  assert.ok(existsSync(addon), 'the native addon was built from the tarball (it ships no build/)');

  // 3. The binaries.
  const version = await ok('npx', ['flyme', '--version'], project);
  assert.equal(version.stdout.trim(), PKG.version);
  const help = await ok('npx', ['flymed', '--help'], project);
  assert.match(help.stdout, /Usage: flymed/);

  // 4. The installed daemon reads the caller's kernel credentials through the addon: whoami shows our uid.
  const sockDir = tempDir('flyme-pkg-sock-');
  t.after(() => rmSync(sockDir, { recursive: true, force: true }));
  const url = `unix://${join(sockDir, 'flyme.sock')}`;
  daemon = spawn(process.execPath, [join(installed, PKG.bin.flymed!), '--listen', url, '--audit-log', join(sockDir, 'audit', 'audit.log')], {
    cwd: project, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  daemon.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await new Promise<void>((ready, fail) => {
    const check = (): void => { if (log.includes('flymed ready')) ready(); };
    daemon!.stderr!.on('data', check);
    daemon!.once('exit', (code) => fail(new Error(`installed flymed exited with ${code}:\n${log}`)));
  });
  const who = JSON.parse((await ok('npx', ['flyme', '--connect', url, '--json', 'whoami'], project)).stdout) as { peer?: { uid: number } };
  assert.equal(who.peer?.uid, process.getuid!(), 'the installed daemon read our uid from the kernel');

  // 5. Every subpath imports, with exactly the surface the repo's dist has; deep imports are refused.
  const surface = JSON.parse((await ok(process.execPath, ['--input-type=module', '-e', SURFACE_SCRIPT, JSON.stringify(SUBPATHS.map(specifier))], project)).stdout) as
    { out: Record<string, string[]>; deep: string };
  assert.deepEqual(surface.out, await repoSurface());
  assert.equal(surface.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'internal modules cannot be imported by path');

  // 6. A strict nodenext TypeScript consumer type-checks every docs/api.md example against the installed types,
  //    and an internal helper is not importable from its subpath (@ts-expect-error fails the check otherwise).
  const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
  const examples = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const imported = new Set(examples.flatMap((e) => [...e.matchAll(/from '(flyme(?:\/[a-z]+)?)'/g)].map((m) => m[1]!)));
  for (const spec of ['flyme', 'flyme/server', 'flyme/identity', 'flyme/grpc', 'flyme/redis']) assert.ok(imported.has(spec), `an example uses ${spec}`);
  examples.forEach((e, i) => writeFileSync(join(project, `example-${i}.ts`), e));
  writeFileSync(join(project, 'internal.ts'), [
    "// @ts-expect-error writeFileAtomic is internal, not part of flyme/auth",
    "import { writeFileAtomic } from 'flyme/auth';",
    "// @ts-expect-error deep imports are not exported",
    "import { mapJoseError } from 'flyme/dist/src/auth/jwt/errors-map.js';",
    'export const unused = [writeFileAtomic, mapJoseError];',
  ].join('\n') + '\n');
  const typesRoot = join(realpathSync(join(ROOT, 'node_modules')), '@types');
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
      types: ['node'], typeRoots: [typesRoot], skipLibCheck: true,
    },
    include: ['*.ts'],
  }, null, 2));
  const tsc = join(realpathSync(join(ROOT, 'node_modules')), 'typescript', 'bin', 'tsc');
  await ok(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
});
