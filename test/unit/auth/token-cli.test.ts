import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenCommand } from '../../../src/cli/token.js';

async function cli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  process.exitCode = 0;
  await tokenCommand({ out: (t) => void (out += t), err: (t) => void (err += t) }).parseAsync(args, { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('flyme token CLI (in-process)', () => {
  it('keygen → issue → verify, rotation, refusal reasons, --force, bound tokens, HS256', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flyme-token-cli-'));
    try {
      const k1 = await cli(['keygen', '--alg', 'ES256', '--kid', 'k1', '--out', dir]);
      assert.equal(k1.code, 0, k1.err);
      const priv = join(dir, 'k1.private.jwk.json');
      assert.equal((await stat(priv)).mode & 0o777, 0o600);
      const jwks = join(dir, 'jwks.json');
      assert.equal(JSON.parse(await readFile(jwks, 'utf8')).keys.length, 1);

      // no overwrite without --force
      const again = await cli(['keygen', '--alg', 'ES256', '--kid', 'k1', '--out', dir]);
      assert.equal(again.code, 1);
      assert.match(again.err, /^flyme: .*--force/);
      assert.equal((await cli(['keygen', '--alg', 'ES256', '--kid', 'k1', '--out', dir, '--force'])).code, 0);

      // rotation: a second kid merges into jwks.json
      assert.equal((await cli(['keygen', '--alg', 'EdDSA', '--kid', 'k2', '--out', dir])).code, 0);
      const kids = (JSON.parse(await readFile(jwks, 'utf8')) as { keys: { kid: string; d?: string }[] }).keys.map((k) => [k.kid, k.d]);
      assert.deepEqual(kids, [['k1', undefined], ['k2', undefined]]);

      const issued = await cli(['issue', '--key', priv, '--sub', 'billing', '--aud', 'flymed', '--roles', 'reader,writer', '--ttl', '15m']);
      assert.equal(issued.code, 0, issued.err);
      const token = issued.out.trim();
      assert.equal(token.split('.').length, 3);

      const ok = await cli(['verify', token, '--jwks', jwks, '--aud', 'flymed', '--iss', 'flyme', '--json']);
      assert.equal(ok.code, 0, ok.err);
      const body = JSON.parse(ok.out) as { valid: boolean; claims: Record<string, unknown>; header: { kid: string } };
      assert.equal(body.valid, true);
      assert.equal(body.header.kid, 'k1');
      assert.deepEqual(body.claims['roles'], ['reader', 'writer']);
      assert.equal((body.claims['exp'] as number) - (body.claims['iat'] as number), 900);

      const human = await cli(['verify', token, '--jwks', jwks, '--aud', 'flymed']);
      assert.match(human.out, /^valid token [^\n]*\niss: flyme\nsub: billing\n/);

      const wrongAud = await cli(['verify', token, '--jwks', jwks, '--aud', 'other', '--json']);
      assert.equal(wrongAud.code, 1);
      assert.equal((JSON.parse(wrongAud.out) as { code: string }).code, 'FLYME_TOKEN_WRONG_AUDIENCE');
      assert.match(wrongAud.err, /^flyme: the token is for another audience/);
      assert.ok(!wrongAud.err.includes(token) && !wrongAud.out.includes(token), 'the token is never echoed');

      const wrongIss = await cli(['verify', token, '--jwks', jwks, '--aud', 'flymed', '--iss', 'evil']);
      assert.equal(wrongIss.code, 1);
      assert.match(wrongIss.err, /issuer/);

      // ttl above the 1h maximum is refused; bad ttl text is refused
      assert.equal((await cli(['issue', '--key', priv, '--sub', 's', '--aud', 'a', '--ttl', '2h'])).code, 1);
      assert.equal((await cli(['issue', '--key', priv, '--sub', 's', '--aud', 'a', '--ttl', '15x'])).code, 1);
      // a bare number is refused, naming the units (it used to mean seconds here, milliseconds to flymed)
      const bare = await cli(['issue', '--key', priv, '--sub', 's', '--aud', 'a', '--ttl', '900']);
      assert.equal(bare.code, 1);
      assert.match(bare.err, /--ttl: invalid duration "900": a bare number has no unit; write 900ms, 900s/);

      // certificate-bound token
      const der = Buffer.from([0x30, 0x82, ...randomBytes(40)]);
      const pem = join(dir, 'client.pem');
      await writeFile(pem, `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`);
      const bound = (await cli(['issue', '--key', priv, '--sub', 's', '--aud', 'flymed', '--bind-cert', pem, '--one-time'])).out.trim();
      const noCert = await cli(['verify', bound, '--jwks', jwks, '--aud', 'flymed']);
      assert.equal(noCert.code, 1);
      assert.match(noCert.err, /bound to a client certificate/);
      assert.equal((await cli(['verify', bound, '--jwks', jwks, '--aud', 'flymed', '--cert', pem])).code, 0);

      // HS256: only the secret is written (0600), and verify needs --alg HS256
      assert.equal((await cli(['keygen', '--alg', 'HS256', '--kid', 'h1', '--out', join(dir, 'hs')])).code, 0);
      const secret = join(dir, 'hs', 'h1.private.jwk.json');
      assert.equal((await stat(secret)).mode & 0o777, 0o600);
      await assert.rejects(stat(join(dir, 'hs', 'jwks.json')));
      const hs = (await cli(['issue', '--key', secret, '--sub', 's', '--aud', 'flymed'])).out.trim();
      assert.equal((await cli(['verify', hs, '--jwks', secret, '--aud', 'flymed'])).code, 1);
      assert.equal((await cli(['verify', hs, '--jwks', secret, '--aud', 'flymed', '--alg', 'HS256'])).code, 0);
      // an ES256 verifier never accepts it
      assert.equal((await cli(['verify', hs, '--jwks', jwks, '--aud', 'flymed', '--alg', 'ES256,HS256'])).code, 1);
    } finally {
      process.exitCode = 0;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
