// --help says what the flags take: flymed's --socket-mode default in octal (0660, not 432) with the 0750
// directory caveat, sizes and durations with units, --listen with one default and every scheme; subcommand
// help of flyme lists the global options (--connect, --certs, --json …).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FLYMED, runCli } from '../helpers/daemon.js';

test('flymed and flyme --help', async () => {
  const d = spawnSync(process.execPath, [FLYMED, '--help'], { encoding: 'utf8' });
  const help = d.stdout.replace(/\s+/g, ' ');
  assert.match(help, /--socket-mode <mode> .*created 0750.*\(default: 0660\)/);
  assert.doesNotMatch(help, /default: 432|default: \[\]|default: 1048576/);
  assert.match(help, /--max-frame <size> .*\(default: 1MiB\)/);
  assert.match(help, /--request-timeout <duration> .*unit.*\(default: 30s\)/);
  const listen = /--listen <url> (.*?) --socket-mode/.exec(help)![1]!;
  for (const scheme of ['unix:///', 'unix://@', 'unix+tls:///', 'tls://', 'tcp://']) assert.ok(listen.includes(scheme), `--listen names ${scheme}`);
  assert.equal(listen.match(/default/g)?.length, 1, `one default: ${listen}`);

  for (const sub of [['ping'], ['certs', 'inspect'], ['policy', 'check'], ['doctor']]) {
    const r = await runCli([...sub, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Global Options:[\s\S]*--connect <url>[\s\S]*--json/, `${sub.join(' ')} --help shows the global options`);
  }
});
