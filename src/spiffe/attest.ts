/**
 * Workload attestation from kernel credentials: who is calling, as `unix:*` selectors. The caller was pinned
 * by a pidfd when it connected (transport/peercred.ts); everything read from /proc about it is accepted only
 * if, afterwards, the pidfd still names the same live process. The uid and gid are the kernel's (SO_PEERCRED
 * at connect) and must still be the process's effective ids; a process that exited, was replaced by another
 * under the same pid, or changed its ids since it connected is never attested.
 *
 * Selectors: unix:uid, unix:gid, unix:user, unix:group (names from /etc/passwd, /etc/group), unix:path (the
 * kernel's /proc/PID/exe link, only when that path names the very file the process runs, as the agent sees
 * the filesystem) and unix:sha256 (of that file, read through the same descriptor, at most 512 MiB; cached
 * by device, inode, size, mtime and ctime).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
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

/**
 * What the caller runs, read through one open file description of `/proc/PID/exe` (the file the kernel
 * executes, whatever its name): its SHA-256 is computed from that very descriptor (the cache key is its
 * fstat), and its path counts only if the path names that same file (device and inode) in the agent's own
 * view of the filesystem — a bind mount in the caller's private mount namespace does not. A caller that
 * execs another program while this runs is refused.
 */
async function inspectExe(pid: number, withSha256: boolean): Promise<{ path?: string; sha256?: string }> {
  const link = `/proc/${pid}/exe`;
  const before = readlinkSync(link);
  const fh = await open(link, 'r');
  try {
    const st = await fh.stat();
    let sha256: string | undefined;
    if (withSha256) {
      if (st.size > MAX_EXE_BYTES) throw flymeError('FLYME_UNAUTHENTICATED', `the caller's executable is larger than ${MAX_EXE_BYTES} bytes; not hashed`);
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      sha256 = hashes.get(key);
      if (!sha256) {
        const h = createHash('sha256');
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let pos = 0; ;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
        sha256 = h.digest('hex');
        if (hashes.size > 256) hashes.clear();
        hashes.set(key, sha256);
      }
    }
    const now = await stat(link);
    if (readlinkSync(link) !== before || now.dev !== st.dev || now.ino !== st.ino) {
      throw flymeError('FLYME_UNAUTHENTICATED', `caller pid ${pid} replaced its executable during attestation`);
    }
    let path: string | undefined;
    // A deleted executable shows as "/path (deleted)": it proves nothing about what is at /path now.
    if (!before.endsWith(' (deleted)')) {
      const named = await stat(before).catch(() => undefined);
      if (named && named.dev === st.dev && named.ino === st.ino) path = before;
    }
    return { ...(path ? { path } : {}), ...(sha256 ? { sha256 } : {}) };
  } finally {
    await fh.close();
  }
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
    let exe: { path?: string; sha256?: string };
    let ids: { uid: number; gid: number };
    try {
      ids = effectiveIds(p.pid);
      exe = await inspectExe(p.pid, withSha256);
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
    if (exe.path) selectors.add(`unix:path:${exe.path}`);
    if (exe.sha256) selectors.add(`unix:sha256:${exe.sha256}`);
    return { pid: p.pid, uid: p.uid, gid: p.gid, selectors };
  });
}
