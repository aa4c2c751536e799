// Redis credentials files: a well-formed 0600 file is read; one others may read, a malformed one, or one for
// another identity is refused with a message naming the file and never quoting the password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlyMeError } from '../../../src/errors.js';
import { loadRedisCredentials } from '../../../src/redis/index.js';
import { redisLoginOptions } from '../../../src/redis/credentials.js';

const SECRET = 'pw-Zq81-very-secret';

test('credentials files: read when private and well-formed, refused otherwise without leaking the password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-redis-creds-'));
  const file = (name: string, body: string, mode = 0o600) => {
    const p = join(dir, name);
    writeFileSync(p, body, { mode });
    chmodSync(p, mode);
    return p;
  };
  const refused = (path: string, pattern: RegExp) => assert.rejects(loadRedisCredentials(path),
    (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG' && pattern.test(e.message) && e.message.includes(path) && !e.message.includes(SECRET) && !JSON.stringify(e.data).includes(SECRET));
  try {
    const good = file('good.json', JSON.stringify({ spiffeId: 'spiffe://td/a', username: 'td_a-0123456789ab', password: SECRET }));
    assert.deepEqual(await loadRedisCredentials(good), { spiffeId: 'spiffe://td/a', username: 'td_a-0123456789ab', password: SECRET });

    await refused(file('open.json', JSON.stringify({ username: 'u', password: SECRET }), 0o644), /mode 0644 lets others read the password/);
    await refused(file('bad.json', `{"username": "u", "password": "${SECRET}"`), /not JSON/);
    await refused(file('nopw.json', JSON.stringify({ username: 'u', password: '' })), /password must be a non-empty string/);
    await refused(join(dir, 'missing.json'), /no such file/);

    // For another identity: refused when node-redis asks for the login.
    const provider = redisLoginOptions(good, () => 'spiffe://td/b').credentialsProvider;
    assert.equal(provider?.type, 'async-credentials-provider');
    await assert.rejects((provider as { credentials(): Promise<unknown> }).credentials(),
      (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG' && /are for spiffe:\/\/td\/a, not for this identity spiffe:\/\/td\/b/.test(e.message));
    assert.deepEqual(await (redisLoginOptions(good, () => 'spiffe://td/a').credentialsProvider as { credentials(): Promise<unknown> }).credentials(), { username: 'td_a-0123456789ab', password: SECRET });
    assert.deepEqual(redisLoginOptions(undefined, () => 'x'), {});
    assert.throws(() => redisLoginOptions({ username: 'u', password: '' }, () => 'x'), (e: unknown) => e instanceof FlyMeError && e.code === 'FLYME_INVALID_CONFIG');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
