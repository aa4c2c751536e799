/**
 * `npm run bench -- --before REV`: FlyMe as of an earlier revision, run in the same bench run as today's code,
 * interleaved with it (A B A B ...), against the same baselines. This is how "what an optimization bought" is
 * measured: one run, one machine state, not two runs hours apart.
 *
 * The old revision is exported with `git archive` into a temp directory and compiled there with TODAY's bench
 * client, server and micro files (so both sides run the very same workload; only FlyMe's src/ differs). Type
 * errors of today's bench files against the old API are reported and the JavaScript is emitted anyway (tsc's
 * default): an option the old code did not have is then simply ignored by it. The native addon is copied when
 * native/ and binding.gyp are the same at both revisions, built otherwise.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The bench files a FlyMe child process runs (server.js, client.js, micro-child.js) and what they import. */
const BENCH_FILES = ['server.ts', 'client.ts', 'certs.ts', 'grpc-service.ts', 'redis.ts', 'micro.ts', 'micro-child.ts', 'baseline-lines.ts'];

export interface BeforeBuild {
  /** Abbreviated commit and its subject line, for the report. */
  rev: string; subject: string;
  /** dist/bench of the old build (server.js, client.js, micro-child.js) and its CLI entry. */
  benchDir: string; cliPath: string;
  /** tsc diagnostics of today's bench files against the old API (empty when they compiled cleanly). */
  typeErrors: string[];
  cleanup(): void;
}

function git(root: string, args: string[]): string {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${(r.stderr || '').trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Exports, patches and compiles `rev` of the repository at `root` (the checkout holding node_modules). */
export function buildBefore(root: string, rev: string): BeforeBuild {
  const commit = git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim();
  const short = commit.slice(0, 7);
  const subject = git(root, ['log', '-1', '--format=%s', commit]).trim();
  const dir = mkdtempSync(join(tmpdir(), `flyme-bench-before-${short}-`));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const tar = spawnSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', root, commit, dir], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`git archive ${short}: ${tar.stderr.trim()}`);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    for (const f of BENCH_FILES) cpSync(join(root, 'bench', f), join(dir, 'bench', f));
    // Only what the child processes run: today's bench files and, through their imports, the old src/ (and its CLI).
    writeFileSync(join(dir, 'tsconfig.before.json'), JSON.stringify({
      extends: './tsconfig.json', include: [...BENCH_FILES.map((f) => `bench/${f}`), 'src/cli/flyme.ts'],
    }));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.before.json'], { cwd: dir, encoding: 'utf8' });
    const typeErrors = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    if (!existsSync(join(dir, 'dist/bench/server.js')) || !existsSync(join(dir, 'dist/bench/client.js'))) {
      throw new Error(`compiling ${short} with today's bench files emitted nothing:\n${tsc.stdout}${tsc.stderr}`);
    }
    const nativeSame = spawnSync('git', ['-C', root, 'diff', '--quiet', commit, 'HEAD', '--', 'native', 'binding.gyp']).status === 0;
    if (nativeSame && existsSync(join(root, 'build/Release'))) {
      cpSync(join(root, 'build'), join(dir, 'build'), { recursive: true });
    } else {
      const nat = spawnSync(process.execPath, [join(dir, 'scripts/build-native.mjs')], { cwd: dir, encoding: 'utf8' });
      if (nat.status !== 0) throw new Error(`building the native addon of ${short}: ${nat.stderr}`);
    }
    return { rev: short, subject, benchDir: join(dir, 'dist/bench'), cliPath: join(dir, 'dist/src/cli/flyme.js'), typeErrors, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** `before:flyme-unix` → the old build's kind `flyme-unix`; every other kind runs today's build. */
export const BEFORE = 'before:';
export const isBefore = (kind: string) => kind.startsWith(BEFORE);
export const bareKind = (kind: string) => (isBefore(kind) ? kind.slice(BEFORE.length) : kind);
/** The server/client kinds that run FlyMe (the rest are baselines): the kinds `--before` runs twice. */
export const isFlymeKind = (kind: string) => /^(flyme-|redis-signed|cluster-signed)/.test(kind);

/**
 * The samples as the old build measured them: every `before:KEY` sample replaces `KEY`, baselines stay (they ran
 * in the same run beside both). Rows built from these are the old code's rows, comparable one to one.
 */
export function beforeSamples(s: Record<string, number[]>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(s)) if (!isBefore(k)) out[k] = v;
  for (const [k, v] of Object.entries(s)) if (isBefore(k)) out[bareKind(k)] = v;
  // Rows whose FlyMe figure the old build did not measure must not show today's figure as the old one.
  for (const k of Object.keys(out)) {
    // A sample key is KIND.FIGURE, or cli.* / micro.* for the in-process and CLI cases.
    const flymeKey = isFlymeKind(k) || /^(cli\.|micro\.flyme|micro\.certs)/.test(k);
    if (flymeKey && !(`${BEFORE}${k}` in s)) delete out[k];
  }
  return out;
}
