// Tokens end to end: `flyme --token ... status` is allowed only when the daemon's role map grants the
// role the token claims; a claimed role outside the map is ignored; a token is bound to one connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, runCli, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

async function issue(keys: string, sub: string, roles: string): Promise<string> {
  const r = await runCli(['token', 'issue', '--key', join(keys, 'k1.private.jwk.json'), '--iss', 'flyme-test', '--sub', sub, '--aud', 'flymed', '--roles', roles, '--ttl', '5m']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('status needs a token whose role the server grants', { skip: !isRoot && 'needs root to run a client as uid 65534' }, async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys');
  assert.equal((await runCli(['token', 'keygen', '--alg', 'ES256', '--kid', 'k1', '--out', keys])).code, 0);
  const rolesFile = join(dir, 'roles.json');
  writeFileSync(rolesFile, JSON.stringify({ 'flyme-test': { operator: ['admin'] } }));
  chmodSync(dir, 0o755);
  const d = await startDaemon(['--socket-mode', '0666', '--jwks', join(keys, 'jwks.json'), '--token-issuer', 'flyme-test', '--token-roles', rolesFile], { dir });
  try {
    // Control of the attack: without a token, uid 65534 is denied.
    const bare = await runCli(['--connect', d.url, 'status'], NOBODY);
    assert.equal(bare.code, 3);

    // Granted role: allowed, and whoami says where the role came from.
    const good = await issue(keys, 'operator', 'admin');
    const ok = await runCli(['--connect', d.url, '--token', good, '--json', 'status'], NOBODY);
    assert.equal(ok.code, 0, ok.stderr);

    const good2 = await issue(keys, 'operator', 'admin');
    const who = JSON.parse((await runCli(['--connect', d.url, '--token', good2, '--json', 'whoami'], NOBODY)).stdout);
    assert.equal(who.peer.uid, 65534);
    assert.equal(who.token.sub, 'operator');
    assert.equal(who.roleSources.admin, 'token:flyme-test/operator');

    // Replay: the same token on a new connection is refused.
    const replay = await runCli(['--connect', d.url, '--token', good, '--json', 'status'], NOBODY);
    assert.equal(replay.code, 3);
    assert.equal(JSON.parse(replay.stderr).error.code, 'FLYME_TOKEN_REPLAYED');

    // Self-asserted role: a subject the role map does not grant admin claims it anyway → ignored, denied.
    const claimed = await issue(keys, 'intruder', 'admin');
    const denied = await runCli(['--connect', d.url, '--token', claimed, '--json', 'status'], NOBODY);
    assert.equal(denied.code, 3);
    assert.equal(JSON.parse(denied.stderr).error.code, 'FLYME_PERMISSION_DENIED');
    assert.match(d.log(), /claimed roles the role map does not grant/);
  } finally {
    await d.stop();
  }
});
