// flymed's systemd unit: docs/flymed.service is the rendered default, systemd-analyze verify accepts the unit
// rendered with the real node and built flymed (and rejects a broken one), its offline security exposure is the
// score docs/operations.md reports, and it carries the hardening issue 18 asks for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCS_UNIT_PATHS, installedFlymedPath, renderUnit } from '../../../src/daemon/unit.js';

const docs = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../docs/${name}`, import.meta.url)), 'utf8');
const ANALYZE = '/usr/bin/systemd-analyze'; // Debian package systemd (scripts/test.mjs installs it)

function withUnit<T>(text: string, f: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-unit-'));
  try {
    const path = join(dir, 'flymed.service');
    writeFileSync(path, text);
    return f(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const analyze = (...args: string[]) => spawnSync(ANALYZE, args, { encoding: 'utf8', cwd: tmpdir() });
const realUnit = () => renderUnit({ node: process.execPath, flymed: installedFlymedPath() });

test('docs/flymed.service is the unit rendered with the documented default paths', () => {
  assert.equal(docs('flymed.service'), renderUnit(DOCS_UNIT_PATHS));
});

test('the unit carries the hardening of issue 18 and runs flymed --config, reloading with SIGHUP', () => {
  const unit = realUnit();
  for (const line of [
    'NoNewPrivileges=yes', 'ProtectSystem=strict', 'RuntimeDirectory=flyme', 'RuntimeDirectoryMode=0750',
    'StateDirectory=flyme', 'PrivateTmp=yes', 'ProtectHome=read-only', 'SystemCallFilter=@system-service',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6', 'UMask=0077', 'CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_CHOWN',
    `ExecStart=${process.execPath} ${installedFlymedPath()} --config /etc/flyme/flymed.yaml`,
    'ExecReload=/bin/kill -HUP $MAINPID',
  ]) assert.ok(unit.split('\n').includes(line), `missing: ${line}`);
  assert.ok(!/^MemoryDenyWriteExecute=/m.test(unit), 'V8 JIT needs writable+executable mappings');
});

test('paths a unit cannot hold are refused', () => {
  assert.throws(() => renderUnit({ node: 'node', flymed: installedFlymedPath() }), /--node must be an absolute path/);
  assert.throws(() => renderUnit({ node: process.execPath, flymed: '/opt/my flyme/flymed.js' }), /--exec .* cannot hold/);
  assert.throws(() => renderUnit({ node: process.execPath, flymed: '/opt/%h/flymed.js' }), /cannot hold/);
});

test('systemd-analyze verify accepts the rendered unit (control: a unit with a missing binary is refused)', () => {
  assert.ok(existsSync(ANALYZE), 'systemd-analyze is missing: apt-get install systemd');
  withUnit(realUnit(), (path) => {
    const r = analyze('verify', path);
    assert.equal(r.status, 0, `verify failed:\n${r.stderr}`);
    assert.equal(r.stderr.trim(), '', `verify warned:\n${r.stderr}`);
  });
  withUnit(renderUnit({ node: '/nonexistent/node', flymed: installedFlymedPath() }), (path) => {
    const r = analyze('verify', path);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /nonexistent\/node/);
  });
});

test('systemd-analyze security --offline: the exposure is the one docs/operations.md reports', () => {
  const reported = /Overall exposure level[^\n]*?(\d+\.\d) /.exec(docs('operations.md'));
  assert.ok(reported, 'docs/operations.md reports no exposure level');
  withUnit(realUnit(), (path) => {
    const r = analyze('security', '--offline=true', '--no-pager', path);
    const score = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
    assert.ok(score, `no score in:\n${r.stdout}\n${r.stderr}`);
    assert.equal(score[1], reported[1], 'the unit changed: update the score and reasons in docs/operations.md');
  });
});
