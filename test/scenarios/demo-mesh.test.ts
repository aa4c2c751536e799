// `npm run demo:mesh` (scripts/demo-mesh.mjs) end to end: every step shows what it should (DNS answer, A → router
// → B and B → router → A with the verified peer, the egress proxies, the rogue registration and the client without
// an SVID refused), it exits 0 and leaves no temp dir (with the demo CA's key) behind. The demo itself counts a step
// that does not show what it should and exits 1, so a broken mesh fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/daemon.js';

const DEMO = resolve(fileURLToPath(import.meta.url), '../../../../scripts/demo-mesh.mjs');

test('npm run demo:mesh: every step as expected, exit 0, temp dir removed', { timeout: 120_000 }, async () => {
  const tmp = tempDir('flyme-demo-mesh-tmp-');
  try {
    const p = spawn(process.execPath, [DEMO], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b) => { out += b; });
    p.stderr.on('data', (b) => { out += b; });
    const code = await new Promise((r) => p.on('exit', r));
    assert.equal(code, 0, out);
    for (const line of [
      /ok {3}service-b\.example\.org → 127\.0\.0\.3/,
      /verified peer spiffe:\/\/example\.org\/svc\/service-b, TLSv1\.3/,
      /verified peer spiffe:\/\/example\.org\/svc\/service-a, TLSv1\.3/,
      /service B \(spiffe:\/\/example\.org\/svc\/service-b\) sees the caller as spiffe:\/\/example\.org\/svc\/service-a/,
      /FLYME_PERMISSION_DENIED: registry Register: spiffe:\/\/example\.org\/svc\/service-a does not own service-b\.example\.org/,
      /refused: UNAUTHENTICATED/,
      /every step as expected/,
    ]) assert.match(out, line);
    assert.doesNotMatch(out, /FAIL/);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('flyme-demo-mesh-')), [], 'the demo removed its temp dir');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
