// tokenCallCredentials builds the authorization header once per token (src/grpc/credentials.ts). The header must
// end with its token: once the token is due for refresh, the next call carries the new token, never the old one;
// and every call gets its own copy (one call changing its metadata cannot change what later calls send).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenCallCredentials } from '../../../src/grpc/credentials.js';

const opts = { service_url: 'https://x/flyme.example.Greeter', method_name: 'SayHello' };

test('the cached header ends when its token is refreshed; each call gets its own copy', async () => {
  const nowS = Math.floor(Date.now() / 1000);
  let n = 0;
  // Token 1 is already due for refresh 1 s after it is fetched (refreshBeforeSeconds = its whole lifetime, capped at half).
  const tokens = [{ token: 'tok-1', exp: nowS + 2 }, { token: 'tok-2', exp: nowS + 3600 }];
  const creds = tokenCallCredentials(() => tokens[n++]!, 3600);
  const a = await creds.generateMetadata(opts);
  assert.deepEqual(a.get('authorization'), ['Bearer tok-1']);
  await new Promise((r) => setTimeout(r, 1100)); // past token 1's refresh point (half of its 2 s lifetime)
  const b = await creds.generateMetadata(opts);
  assert.deepEqual(b.get('authorization'), ['Bearer tok-2'], 'a refreshed token replaces the cached header');
  // Control: while token 2 is fresh, its header is reused without asking the provider again (n stays 2).
  // A call changing its metadata (the first after the refresh, then a later one) changes nothing for the next.
  for (const mine of [b, await creds.generateMetadata(opts)]) {
    assert.deepEqual(mine.get('authorization'), ['Bearer tok-2']);
    mine.set('authorization', 'Bearer forged');
    mine.add('x-extra', 'y');
    const next = await creds.generateMetadata(opts);
    assert.deepEqual(next.get('authorization'), ['Bearer tok-2'], 'a change to one call\'s metadata does not reach the next call');
    assert.deepEqual(next.get('x-extra'), []);
  }
  assert.equal(n, 2, 'token 2 is fetched once');
});

test('a token that cannot be a header value fails the call with an error (no cached header)', async () => {
  const creds = tokenCallCredentials(() => ({ token: 'bad\nvalue', exp: Math.floor(Date.now() / 1000) + 600 }));
  await assert.rejects(creds.generateMetadata(opts));
});
