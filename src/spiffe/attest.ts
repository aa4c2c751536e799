/**
 * Workload attestation from kernel credentials: who is calling, as `unix:*` selectors. The caller was pinned
 * by a pidfd when it connected (transport/peercred.ts); everything read from /proc about it is accepted only
 * if, afterwards, the pidfd still names the same live process. The uid and gid are the kernel's (SO_PEERCRED
 * at connect) and must still be the process's effective ids; a process that exited, was replaced by another
 * under the same pid, or changed its ids since it connected is never attested.
 *
 * Selectors: unix:uid, unix:gid, unix:user, unix:group (names from /etc/passwd, /etc/group), unix:path (the
 * kernel's /proc/PID/exe link) and unix:sha256 (of the executable file, read through /proc/PID/exe, at most
 * 512 MiB; cached by inode and mtime).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { flymeError } from '../errors.js';
import type { PinnedPeerProcess } from '../transport/peercred.js';
import { groupName, userName } from './users.js';

export const MAX_EXE_BYTES = 512 * 1024 * 1024;

/** What attestation established about a caller. */
export interface Attestation {
  pid: number;
  uid: number;
  gid: number;
  /** `unix:uid:1000`, `unix:path:/usr/bin/x`, … (sha256 only when asked for). */
  selectors: Set<string>;
}

const hashes = new Map<string, string>();

async function exeSha256(pid: number): Promise<string> {
  const path = `/proc/${pid}/exe`;
  const s = await stat(path);
  if (s.size > MAX_EXE_BYTES) throw flymeError('FLYME_UNAUTHENTICATED', `the caller's executable is larger than ${MAX_EXE_BYTES} bytes; not hashed`);
  const key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  const hit = hashes.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve()).on('error', reject);
  });
  const digest = h.digest('hex');
  if (hashes.size > 256) hashes.clear();
  hashes.set(key, digest);
  return digest;
}

function effectiveIds(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status);
  if (!uid || !gid) throw new Error('no Uid/Gid lines');
  return { uid: Number(uid[1]), gid: Number(gid[1]) };
}

/**
 * Attests the pinned caller.
 * @param withSha256 also hash the executable (only when some entry has a `unix:sha256` selector).
 * @throws FlyMeError FLYME_UNAUTHENTICATED when the caller is gone, was replaced, changed ids, or cannot be read.
 */
export async function attest(p: PinnedPeerProcess | undefined, withSha256: boolean): Promise<Attestation> {
  if (!p) throw flymeError('FLYME_UNAUTHENTICATED', 'the caller could not be pinned by a pidfd when it connected; it is never attested');
  return p.use(async () => {
    if (!p.alive()) throw flymeError('FLYME_UNAUTHENTICATED', `caller pid ${p.pid} exited or was replaced`);
    let exe: string;
    let ids: { uid: number; gid: number };
    let sha: string | undefined;
    try {
      exe = readlinkSync(`/proc/${p.pid}/exe`);
      ids = effectiveIds(p.pid);
      if (withSha256) sha = await exeSha256(p.pid);
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('FLYME_')) throw err;
      throw flymeError('FLYME_UNAUTHENTICATED', `cannot read the caller's process (pid ${p.pid}): ${(err as Error).message}`);
    }
    // Only now: the pidfd proves that what we read belonged to the process that connected.
    if (!p.alive()) throw flymeError('FLYME_UNAUTHENTICATED', `caller pid ${p.pid} exited or was replaced during attestation`);
    if (ids.uid !== p.uid || ids.gid !== p.gid) {
      throw flymeError('FLYME_UNAUTHENTICATED', `caller pid ${p.pid} changed its ids since it connected (uid ${p.uid}→${ids.uid}, gid ${p.gid}→${ids.gid})`);
    }
    const selectors = new Set([`unix:uid:${p.uid}`, `unix:gid:${p.gid}`]);
    const user = userName(p.uid);
    const group = groupName(p.gid);
    if (user) selectors.add(`unix:user:${user}`);
    if (group) selectors.add(`unix:group:${group}`);
    // A deleted executable shows as "/path (deleted)": it proves nothing about what is at /path now.
    if (!exe.endsWith(' (deleted)')) selectors.add(`unix:path:${exe}`);
    if (sha) selectors.add(`unix:sha256:${sha}`);
    return { pid: p.pid, uid: p.uid, gid: p.gid, selectors };
  });
}
