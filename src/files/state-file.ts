/**
 * A service's JSON state file (the CA's, the registry's): read, parsed and checked against a compiled schema, with
 * every problem FLYME_INVALID_CONFIG naming the file. Written back with writeFileAtomic (0600).
 */
import { readFileSync } from 'node:fs';
import type { TSchema, Static } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { flymeError } from '../errors.js';

export interface StateFileOptions {
  /** Names the file in errors, e.g. `CA state`. */
  what: string;
  /** What to do about a file that is not valid JSON, e.g. `restore it from a backup`. */
  advice: string;
  /** Absent file: refuse with this reason (`${what} ${path} is missing: ${reason}`); without it, return undefined. */
  missing?: string;
}

export function readStateFile<S extends TSchema>(path: string, check: TypeCheck<S>, o: StateFileOptions): Static<S> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (o.missing === undefined) return undefined;
      throw flymeError('FLYME_INVALID_CONFIG', `${o.what} ${path} is missing: ${o.missing}`, { path });
    }
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${o.what} ${path}: ${code}`, { path }, err);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw flymeError('FLYME_INVALID_CONFIG', `${o.what} ${path} is not valid JSON; refusing to start (${o.advice})`, { path });
  }
  if (!check.Check(data)) {
    const first = check.Errors(data).First();
    throw flymeError('FLYME_INVALID_CONFIG', `${o.what} ${path} is invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema'}; refusing to start`, { path });
  }
  return data;
}
