// SIGHUP with an invalid config file: refused as a whole (its valid lines are not applied either), the log and
// a critical alert name file:line; control: once the file is fixed, the same change applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { RawPeer, runCli } from '../helpers/daemon.js';
import { baseConfig, sighup, startFromConfig, writeConfig } from '../helpers/config.js';

const ping = async (p: RawPeer, id: number) => {
  p.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: {} }) + '\n');
  return p.next();
};

test('an invalid config file on SIGHUP keeps the running settings', async () => {
  const { d, dir, config } = await startFromConfig(['max-connections: 1']);
  const peers: RawPeer[] = [];
  const open = async () => { const p = await RawPeer.open(d.socket); peers.push(p); return p; };
  try {
    // Attack: a file that raises the limit but also holds a typo (line 4) must change nothing.
    writeConfig(dir, [...baseConfig(dir), 'max-connections: 2', 'max-conections: 5']);
    const log = await sighup(d);
    assert.match(log, /"event":"config_reload_failed"/);
    assert.ok(log.includes(`${config}:4: max-conections: unknown field`), log);
    const alerts = await runCli(['--connect', d.url, '--json', 'alerts']);
    assert.equal(alerts.code, 0, alerts.stderr);
    const failed = JSON.parse(alerts.stdout).alerts.find((a: { kind: string }) => a.kind === 'config_reload_failed');
    assert.ok(failed, 'a config_reload_failed alert');
    assert.equal(failed.severity, 'critical');
    assert.ok(String(failed.message).includes(`${config}:4:`));

    // The CLI's connection may still be closing inside flymed: open the first peer once its slot is free.
    let first: RawPeer | undefined;
    for (const until = Date.now() + 10_000; !first && Date.now() < until;) {
      const p = await open();
      if ((await ping(p, 1)).id === 1) first = p;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(first, 'one connection is admitted');
    const refused = await open();
    assert.equal((await refused.next()).error.data.code, 'FLYME_TOO_MANY_CONNECTIONS', 'max-connections 2 of the refused file was not applied');

    // Control: the fixed file applies.
    writeConfig(dir, [...baseConfig(dir), 'max-connections: 2']);
    assert.match(await sighup(d), /"applied":\["max-connections"\]/);
    assert.equal((await ping(await open(), 2)).id, 2, 'admitted once the valid file is applied');
  } finally {
    peers.forEach((p) => p.destroy());
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
