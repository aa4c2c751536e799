// A request id comes back with the exact text it was sent with: 64-bit ids beyond 2^53, -0, fractions.
// (Through a double, 9007199254740993 came back as 9007199254740992.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, RawPeer } from '../helpers/daemon.js';

const TOKENS = ['9007199254740993', '-9007199254740993', '18446744073709551615', '1e400', '1.5', '1.50', '-0', '0', '"str"', '"9007199254740993"'];

function idOf(line: string): string {
  const m = /^\{"jsonrpc":"2\.0","id":(.*?),"(result|error)":/.exec(line);
  assert.ok(m, `unexpected line: ${line}`);
  return m[1]!;
}

test('flymed echoes each request id byte for byte, in results and in errors', async () => {
  const d = await startDaemon();
  try {
    const p = await RawPeer.open(d.socket);
    for (const token of TOKENS) {
      p.send(`{"jsonrpc":"2.0","id":${token},"method":"ping","params":{"message":"m"}}\n`);
      const line = await p.nextLine();
      assert.equal(idOf(line), token, line);
      assert.equal(JSON.parse(line).result.message, 'm');
    }
    // the id sits after the params, and the method does not exist: the error echoes it too
    p.send('{"jsonrpc":"2.0","method":"nope","params":{"id":1},"id":9007199254740993}\n');
    const err = await p.nextLine();
    assert.equal(idOf(err), '9007199254740993', err);
    assert.equal(JSON.parse(err).error.data.code, 'FLYME_METHOD_NOT_FOUND');
    p.destroy();
  } finally {
    await d.stop();
  }
});
