/**
 * User and group names for uids and gids, from /etc/passwd and /etc/group (re-read when they change).
 * Node has no getpwuid for other users; these files are what it would consult on a FlyMe host.
 */
import { readFileSync, statSync } from 'node:fs';

interface Table { stamp: string; names: Map<number, string> }
const tables = new Map<string, Table>();

function table(path: string): Map<number, string> {
  let stamp = '';
  try {
    const s = statSync(path);
    stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return new Map();
  }
  const hit = tables.get(path);
  if (hit && hit.stamp === stamp) return hit.names;
  const names = new Map<number, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [name, , id] = line.split(':');
    const n = Number(id);
    if (name && Number.isInteger(n) && !names.has(n)) names.set(n, name);
  }
  tables.set(path, { stamp, names });
  return names;
}

/** The user name of `uid`, or undefined when /etc/passwd has none. */
export const userName = (uid: number, path = '/etc/passwd'): string | undefined => table(path).get(uid);

/** The group name of `gid`, or undefined when /etc/group has none. */
export const groupName = (gid: number, path = '/etc/group'): string | undefined => table(path).get(gid);
