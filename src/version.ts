/** FlyMe's version, read once from the package's own package.json (never a second copy in the code). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  // src/version.ts → ../package.json; dist/src/version.js → ../../package.json. Never search further.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++) {
    dir = dirname(dir);
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'flyme' && typeof pkg.version === 'string') return pkg.version;
  }
  return '0.0.0-unknown';
}

export const VERSION: string = readVersion();
