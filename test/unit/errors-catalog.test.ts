// Every error code is documented in docs/protocol.md, and the docs name no code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOG, FlyMeError, isFlyMeErrorCode } from '../../src/errors.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');

test('docs/protocol.md lists every code with its numeric code', () => {
  for (const [code, [num]] of Object.entries(ERROR_CATALOG)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${num} \\|`), `${code} missing from docs/protocol.md`);
  }
  for (const m of doc.matchAll(/`(FLYME_[A-Z0-9_]+)`/g)) assert.ok(isFlyMeErrorCode(m[1]), `docs name unknown code ${m[1]}`);
});

test('FlyMeError carries code, rpc code and data on the wire shape', () => {
  const e = new FlyMeError('FLYME_PERMISSION_DENIED', 'no', { data: { permission: 'status' } });
  assert.ok(e instanceof FlyMeError);
  assert.ok(e instanceof Error);
  assert.deepEqual(e.toRpcError(), { code: -32002, message: 'no', data: { permission: 'status', code: 'FLYME_PERMISSION_DENIED' } });
  assert.equal(({ code: 'FLYME_PERMISSION_DENIED' }) instanceof FlyMeError, false);
});
