// The command examples in README.md and docs/*.md run as shown, against temporary daemons and redis-servers.
//
// CONTRIBUTING — how to write a command example that this test runs (or marks):
// - Only fenced blocks tagged ```sh or ```bash are run; blocks in any other language (ts, yaml, json, text, …)
//   never are. Each such block runs as one bash script in a fresh temp dir (the cwd, so ./certs stays there);
//   every command (a line, with `\` continuations) must exit 0, or the code its comment names as `(exit N)`.
// - A block that cannot run in a test (needs systemd, sudo to a real user, another host, a placeholder such as
//   DIR or [optional] synopsis syntax, a command that runs until Ctrl-C) gets an HTML comment on the line just
//   before its fence: `<!-- not-run: the reason -->`. The reason is required and printed by this test.
// - `flyme`, `flymed`, `flyme-fake-client` run the built dist/ files; `npx X` and `sudo X` run X (tests run as
//   root). A `flymed …` line starts the daemon in the background, waits until it is ready and sets FLYME_CONNECT
//   to its first --listen (default: a socket in the temp dir); it runs until the block ends. `redis-server …`
//   starts in the background too and waits for its TLS port. Paths are rewritten into the temp dir:
//   /run/flyme/ /etc/flyme/ /var/lib/flyme/ /tmp/; port 6380 becomes a free port. flymed gets --audit-log in
//   the temp dir unless the line names one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLYME, FLYMED, tempDir } from '../helpers/daemon.js';
import { freePort } from '../helpers/redis.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const FAKE_CLIENT = join(root, 'dist/src/cli/fake-client.js');
const DOCS = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

interface Block { file: string; line: number; text: string; notRun?: string }

/** Every ```sh / ```bash block of a Markdown file, with its not-run reason if marked. */
export function shellBlocks(file: string, markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (open[2] === 'sh' || open[2] === 'bash') {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const mark = prev >= 0 ? /^\s*<!--\s*not-run:\s*(.*?)\s*-->\s*$/.exec(lines[prev]!) : null;
      if (mark && !mark[1]) throw new Error(`${file}:${prev + 1}: a not-run mark needs a reason`);
      out.push({ file, line: i + 1, text: lines.slice(i + 1, end).join('\n'), ...(mark ? { notRun: mark[1]! } : {}) });
    }
    i = end;
  }
  return out;
}

/** The commands of a block: lines joined at `\`, comments and blank lines dropped, with their expected exit. */
function commands(text: string): Array<{ line: number; cmd: string; exit: number }> {
  const out: Array<{ line: number; cmd: string; exit: number }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let cmd = lines[i]!;
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = cmd.slice(0, -1) + ' ' + lines[++i]!.trim();
    if (cmd.trim() === '' || cmd.trim().startsWith('#')) continue;
    const exit = /\(exit (\d+)\)/.exec(cmd);
    out.push({ line: start + 1, cmd, exit: exit ? Number(exit[1]) : 0 });
  }
  return out;
}

const PRELUDE = String.raw`
__n=0
flyme() { node "$FLYME" "$@"; }
flyme-fake-client() { node "$FAKE_CLIENT" "$@"; }
sudo() { "$@"; }
npx() { "$@"; }
flymed() {
  __n=$((__n + 1))
  local log="$T/flymed.$__n.log" listen="" i extra=()
  local args=("$@")
  for ((i = 0; i < ${'$'}{#args[@]}; i++)); do [ "${'$'}{args[i]}" = --listen ] && { listen="${'$'}{args[i+1]}"; break; }; done
  [ -z "$listen" ] && { listen="unix://$T/run/flyme.sock"; extra+=(--listen "$listen"); }
  [[ " ${'$'}{args[*]} " == *" --audit-log "* ]] || extra+=(--audit-log "$T/var/audit.log")
  node "$FLYMED" "${'$'}{args[@]}" "${'$'}{extra[@]}" >"$log" 2>&1 &   # off the block's stdout: the block ends with its last command
  echo $! >> "$T/pids"
  export FLYME_CONNECT="$listen"
  for i in $(seq 300); do
    grep -q 'flymed ready' "$log" && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2; return 1
}
redis-server() {
  command redis-server "$@" > "$T/redis.log" 2>&1 &   # cwd: the temp dir (relative cert paths, dump.rdb)
  echo $! >> "$T/pids"
  for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT) 2>/dev/null && return 0; sleep 0.05; done
  cat "$T/redis.log" >&2; return 1
}
`;

function script(block: Block, t: string, redisPort: number): { text: string; count: number } {
  const rewrite = (s: string) => s.replace(/\/run\/flyme\/|\/etc\/flyme\/|\/var\/lib\/flyme\/|\/tmp\/|\b6380\b/g, (m) => ({
    '/run/flyme/': `${t}/run/`, '/etc/flyme/': `${t}/etc/`, '/var/lib/flyme/': `${t}/var/`, '/tmp/': `${t}/tmp/`,
  } as Record<string, string>)[m] ?? String(redisPort));
  const cmds = commands(block.text);
  const body = cmds.map(({ line, cmd, exit }) => {
    const where = `${block.file}:${block.line + line}`;
    const quoted = `'${cmd.replace(/'/g, `'\\''`)}'`;
    return `${rewrite(cmd)}\n__rc=$?; if [ "$__rc" -ne ${exit} ]; then echo "docs-commands: ${where}: exit $__rc, expected ${exit}: "${quoted} >&2; exit 1; fi`;
  });
  return { text: PRELUDE + body.join('\n') + '\n', count: cmds.length };
}

async function runBlock(block: Block): Promise<{ code: number | null; out: string; count: number }> {
  const t = tempDir('flyme-docs-');
  for (const d of ['work', 'run', 'etc', 'var', 'tmp']) mkdirSync(join(t, d));
  const redisPort = await freePort();
  const { text, count } = script(block, t, redisPort);
  const p = spawn('bash', ['--noprofile', '--norc', '-c', text], {
    cwd: join(t, 'work'),
    env: { ...process.env, T: t, FLYME, FLYMED, FAKE_CLIENT, REDIS_PORT: String(redisPort), FLYME_CONNECT: `unix://${t}/run/flyme.sock`, FLYME_CERTS: '', FLYME_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a block that hangs is killed whole
  });
  // Not a timing assertion: a command that never ends (one that runs until Ctrl-C) must be marked not-run.
  const hang = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 90_000);
  let out = '';
  p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  p.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const code = await new Promise<number | null>((r) => p.once('close', (c) => r(c)));
  clearTimeout(hang);
  if (code === null) out += `\ndocs-commands: ${block.file}:${block.line} did not finish in 90 s: a command that runs until Ctrl-C? mark the block <!-- not-run: reason -->\n`;
  let pids: number[] = [];
  try { pids = readFileSync(join(t, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number); } catch { /* nothing started */ }
  for (const pid of pids) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  for (const pid of pids) {
    for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); } catch { break; } await new Promise((r) => setTimeout(r, 20)); }
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(t, { recursive: true, force: true });
  return { code, out, count };
}

const blocks = DOCS.flatMap((f) => shellBlocks(f, readFileSync(join(root, f), 'utf8')));

test('README and docs command examples', { timeout: 600_000 }, async (t) => {
  let ran = 0;
  const marked = blocks.filter((b) => b.notRun);
  for (const b of blocks.filter((x) => !x.notRun)) {
    await t.test(`${b.file}:${b.line}`, { timeout: 120_000 }, async () => {
      const r = await runBlock(b);
      assert.equal(r.code, 0, `${b.file}:${b.line} failed:\n${r.out}`);
      ran += r.count;
    });
  }
  t.diagnostic(`${ran} commands run in ${blocks.length - marked.length} blocks; ${marked.length} blocks (${marked.reduce((n, b) => n + commands(b.text).length, 0)} commands) marked not-run:`);
  for (const b of marked) t.diagnostic(`  ${b.file}:${b.line}: ${b.notRun}`);
  assert.ok(blocks.length > 0, 'found the docs');
});
