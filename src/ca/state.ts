/**
 * The CA's persistent state (`state.json`, 0600): registration entries, join tokens (SHA-256 hashes only),
 * attested agents, and every certificate issued until it expires (serial uniqueness across restarts,
 * revocation of a deleted entry's SVIDs). Written atomically after every change, before the change is
 * acknowledged; a file that does not validate stops the CA from starting (fail closed).
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { flymeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { readStateFile } from '../files/state-file.js';

const SelectorT = Type.Object({ type: Type.String(), value: Type.String() });
const EntryT = Type.Object({
  id: Type.String(), spiffeId: Type.String(), parentId: Type.String(), selectors: Type.Array(SelectorT),
  ttlSeconds: Type.Integer(), hint: Type.String(), createdAt: Type.Integer(),
});
const StateT = Type.Object({
  version: Type.Literal(1),
  trustDomain: Type.String(),
  entries: Type.Array(EntryT),
  joinTokens: Type.Array(Type.Object({ hash: Type.String(), agentId: Type.String(), expiresAt: Type.Integer(), usedAt: Type.Optional(Type.Integer()) })),
  agents: Type.Array(Type.Object({ id: Type.String(), attestedAt: Type.Integer() })),
  issued: Type.Array(Type.Object({
    serial: Type.String(), spiffeId: Type.String(), entryId: Type.Optional(Type.String()), issuer: Type.String(),
    notAfter: Type.Integer(), revoked: Type.Optional(Type.Boolean()),
  })),
});
const check = TypeCompiler.Compile(StateT);

export type CaState = Static<typeof StateT>;
export type IssuedRecord = CaState['issued'][number];

export function emptyState(trustDomain: string): CaState {
  return { version: 1, trustDomain, entries: [], joinTokens: [], agents: [], issued: [] };
}

/**
 * Reads `path` (written by `initCaDir` with the CA and after every change).
 * @throws FlyMeError FLYME_INVALID_CONFIG when the file is missing (its revocations and agents would be
 *   silently forgotten) or is not a valid state of this trust domain.
 */
export function loadState(path: string, trustDomain: string): CaState {
  const data = readStateFile(path, check, {
    what: 'CA state', advice: 'restore it from a backup',
    missing: 'its entries, agents and revocations would be lost; refusing to start (restore it from a backup)',
  })!;
  if (data.trustDomain !== trustDomain) throw flymeError('FLYME_INVALID_CONFIG', `CA state ${path} belongs to trust domain ${data.trustDomain}, not ${trustDomain}`, { path });
  return data;
}

/** Writes the state atomically (0600). */
export async function saveState(path: string, state: CaState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`, { mode: 0o600, overwrite: true });
}
