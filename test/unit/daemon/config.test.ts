// flymed --config parsing: keys come from the option list (kebab-case long names), values go through each
// flag's parser as strings, errors are `file:line: key: problem`; diffConfig splits live and restart-only keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from '@commander-js/extra-typings';
import { configKeys, diffConfig, mergeConfig, parseDaemonConfig } from '../../../src/daemon/config.js';
import { durationOption, parseMode } from '../../../src/options/flags.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const program = new Command('t')
  .option('--config <file>', '')
  .option('--listen <url>', '', collect, [] as string[])
  .option('--socket-mode <mode>', '', (v) => parseMode(v), 0o660)
  .addOption(durationOption('--idle-timeout <duration>', '', '60s'))
  .addOption(new Option('--log-level <level>', '').choices(['info', 'debug'] as const).default('info' as const))
  .option('--max-connections <n>', '', (v) => Number(v), 100)
  .option('--verbose-thing', '');
const keys = configKeys(program.options);

test('keys: every option but --config, by long name; lists for repeatable flags', () => {
  assert.deepEqual(keys.map((k) => [k.key, k.kind]), [
    ['listen', 'list'], ['socket-mode', 'value'], ['idle-timeout', 'value'], ['log-level', 'value'], ['max-connections', 'value'], ['verbose-thing', 'boolean'],
  ]);
});

test('values are parsed by the flags\' parsers, from their text (0660 stays octal, 1m30s is 90000 ms)', () => {
  const m = parseDaemonConfig('listen:\n  - unix:///a\n  - unix:///b\nsocket-mode: 0600\nidle-timeout: 1m30s\nverbose-thing: true\n', 'f.yaml', keys);
  assert.deepEqual(Object.fromEntries(m), { listen: ['unix:///a', 'unix:///b'], socketMode: 0o600, idleTimeout: 90_000, verboseThing: true });
  assert.equal(parseDaemonConfig('', 'empty.yaml', keys).size, 0, 'an empty file sets nothing');
});

test('errors name file:line: key: problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['log-level: info\nlisten-on: x\n', /^f\.yaml:2: listen-on: unknown field \(not a flymed setting/],
    ['idleTimeout: 5s\n', /^f\.yaml:1: idleTimeout: unknown field \(write idle-timeout/],
    ['listen: unix:///a\n', /^f\.yaml:1: listen: expected array/],
    ['socket-mode: [1]\n', /^f\.yaml:1: socket-mode: expected string/],
    ['\n\nidle-timeout: 5\n', /^f\.yaml:3: idle-timeout: invalid duration "5": a bare number has no unit/],
    ['log-level: loud\n', /^f\.yaml:1: log-level: "loud": allowed choices are info, debug/],
    ['listen:\n  - unix:///a\n  - 7\nverbose-thing: yes\n', /^f\.yaml:4: verbose-thing: expected true or false/],
    ['- a\n- b\n', /^f\.yaml:1: \(top level\): expected a mapping/],
    ['config: other.yaml\n', /^f\.yaml:1: config: unknown field/],
    ['a: 1\na: 2\n', /^f\.yaml:2: not valid YAML/],
  ];
  for (const [text, expected] of bad) {
    assert.throws(() => parseDaemonConfig(text, 'f.yaml', keys), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'FLYME_INVALID_CONFIG');
      assert.match(e.message, expected);
      return true;
    }, text);
  }
});

test('flags given on the command line win over the file', () => {
  const cli = { listen: ['unix:///cli'], maxConnections: 100, socketMode: 0o660 };
  const file = new Map<string, unknown>([['listen', ['unix:///file']], ['maxConnections', 5]]);
  assert.deepEqual(mergeConfig(cli, file, (a) => a === 'listen'), { listen: ['unix:///cli'], maxConnections: 5, socketMode: 0o660 });
});

test('diffConfig: live keys take the new value, restart-only keys keep the running one and are reported', () => {
  const current = { listen: ['unix:///a'], maxConnections: 100, logLevel: 'info', socketMode: 0o660 };
  const next = { listen: ['unix:///b'], maxConnections: 5, logLevel: 'info', socketMode: 0o660 };
  const change = diffConfig(keys, current, next);
  assert.deepEqual(change.live, ['max-connections']);
  assert.deepEqual(change.restart, ['listen']);
  assert.deepEqual(change.effective, { listen: ['unix:///a'], maxConnections: 5, logLevel: 'info', socketMode: 0o660 });
});
