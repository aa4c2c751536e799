// What a gRPC process loads: the server and client modules must not pull in the policy parser (the YAML library
// and TypeBox's schema compiler, ~2.7 MB of live heap that a busier garbage collector pays for on every call; see
// docs/performance.md) unless the caller loads the Policy class itself. Walks the compiled import graph; the control
// walks policy.js and must find both packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');
const SPECIFIER = /(?:^|[;\s])(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Packages (bare specifiers, as written) reachable from `entry` through relative imports. */
function packagesReachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  };
  walk(resolve(SRC, entry));
  return packages;
}

const policyParser = (pkgs: Set<string>) => [...pkgs].filter((p) => p === 'yaml' || p.startsWith('@sinclair/typebox'));

test('control: the Policy class brings the YAML parser and TypeBox', () => {
  const found = policyParser(packagesReachable('auth/policy/policy.js'));
  assert.ok(found.includes('yaml'), `found ${found.join(', ')}`);
  assert.ok(found.some((p) => p.startsWith('@sinclair/typebox')), `found ${found.join(', ')}`);
});

for (const entry of ['grpc/server.js', 'grpc/client.js', 'grpc/index.js']) {
  test(`${entry} does not load the policy parser`, () => {
    const pkgs = packagesReachable(entry);
    assert.ok(pkgs.has('@grpc/grpc-js'), 'the walk found grpc-js'); // the walk works for this entry
    assert.deepEqual(policyParser(pkgs), []);
  });
}
