/**
 * Applying a self-audit repair without following links: files and directories are opened with O_NOFOLLOW
 * (a link put in place after the check fails with ELOOP), the descriptor's fstat must show the very inode
 * that was checked, and the mode is changed through the descriptor (fchmod), so the change cannot land on
 * another file. A socket cannot be opened; it is re-checked with lstat just before chmod, and a socket fix is
 * planned only when its directory admits no other writer than root or the daemon (checks.ts).
 */
import { constants } from 'node:fs';
import { chmod, lstat, open } from 'node:fs/promises';
import type { FixPlan } from './checks.js';

export class FixRefused extends Error {}

const same = (s: { dev: number; ino: number }, p: FixPlan) => s.dev === p.dev && s.ino === p.ino;

export async function applyFix(p: FixPlan): Promise<void> {
  if (p.kind === 'socket') {
    const s = await lstat(p.path);
    if (!s.isSocket() || !same(s, p)) throw new FixRefused(`${p.path} changed since it was checked; not touched`);
    await chmod(p.path, p.mode);
    return;
  }
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY | (p.kind === 'dir' ? constants.O_DIRECTORY : 0);
  let fh;
  try {
    fh = await open(p.path, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new FixRefused(`${p.path} is now a symbolic link; links are never followed`);
    throw e;
  }
  try {
    const s = await fh.stat();
    const kindOk = p.kind === 'dir' ? s.isDirectory() : s.isFile();
    if (!kindOk || !same(s, p)) throw new FixRefused(`${p.path} is no longer the ${p.kind === 'dir' ? 'directory' : 'file'} that was checked; not touched`);
    await fh.chmod(p.mode);
  } finally {
    await fh.close();
  }
}
