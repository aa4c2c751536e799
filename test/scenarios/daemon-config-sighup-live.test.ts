// SIGHUP re-reads flymed --config and applies a live setting: max-connections 1 → 2 lets a second connection in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { RawPeer } from '../helpers/daemon.js';
import { baseConfig, sighup, startFromConfig, writeConfig } from '../helpers/config.js';

const ping = async (p: RawPeer, id: number) => {
  p.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: {} }) + '\n');
  return p.next();
};

test('SIGHUP applies a changed live setting from the config file', async () => {
  const { d, dir } = await startFromConfig(['max-connections: 1']);
  const peers: RawPeer[] = [];
  try {
    const first = await RawPeer.open(d.socket);
    peers.push(first);
    assert.equal((await ping(first, 1)).id, 1);
    const refused = await RawPeer.open(d.socket);
    peers.push(refused);
    assert.equal((await refused.next()).error.data.code, 'FLYME_TOO_MANY_CONNECTIONS', 'control: the limit of 1 holds before the reload');

    writeConfig(dir, [...baseConfig(dir), 'max-connections: 2']);
    const log = await sighup(d);
    assert.match(log, /"event":"config_reloaded".*"applied":\["max-connections"\],"restartNeeded":\[\]/);

    const second = await RawPeer.open(d.socket);
    peers.push(second);
    assert.equal((await ping(second, 2)).id, 2, 'a second connection is admitted after the reload');
    assert.equal((await ping(first, 3)).id, 3, 'the first connection still works');
  } finally {
    peers.forEach((p) => p.destroy());
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
