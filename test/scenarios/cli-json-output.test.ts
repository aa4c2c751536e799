// `--json` (a global flag, also after the subcommand) gives JSON: `certs inspect FILE --json` (before: text) and
// `token verify … --json` on a refusal prints {"valid":false,"code":…} with exit 1, as docs/tokens.md says,
// also when the JWKS file itself is missing (before: nothing on stdout). Control: a valid token prints valid:true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/daemon.js';

test('certs inspect and token verify print JSON with --json', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-json-');
  try {
    assert.equal((await runCli(['certs', 'init', '--dir', join(dir, 'certs')])).code, 0);
    for (const args of [['certs', 'inspect', join(dir, 'certs', 'client.pem'), '--json'], ['--json', 'certs', 'inspect', join(dir, 'certs', 'client.pem')]]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout)[0].spiffeId, 'spiffe://flyme.local/client');
    }

    const keys = join(dir, 'keys');
    assert.equal((await runCli(['token', 'keygen', '--kid', 'k1', '--out', keys])).code, 0);
    const issued = await runCli(['token', 'issue', '--key', join(keys, 'k1.private.jwk.json'), '--sub', 'ci', '--aud', 'flymed', '--roles', 'reader', '--ttl', '5m']);
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    const jwks = join(keys, 'jwks.json');
    const ok = await runCli(['token', 'verify', token, '--jwks', jwks, '--aud', 'flymed', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).valid, true);

    const wrongAud = await runCli(['token', 'verify', token, '--jwks', jwks, '--aud', 'other', '--json']);
    assert.equal(wrongAud.code, 1);
    assert.deepEqual({ ...JSON.parse(wrongAud.stdout), message: undefined, claim: undefined }, { valid: false, code: 'FLYME_TOKEN_WRONG_AUDIENCE', message: undefined, claim: undefined });
    const noJwks = await runCli(['--json', 'token', 'verify', token, '--jwks', join(dir, 'missing.json'), '--aud', 'flymed']);
    assert.equal(noJwks.code, 1);
    assert.equal(JSON.parse(noJwks.stdout).valid, false);
    assert.equal(JSON.parse(noJwks.stdout).code, 'FLYME_INVALID_CONFIG');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
