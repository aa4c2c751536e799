/** Registration entries: who (selectors, under which agent) gets which SPIFFE ID, checked before they are stored. */
import { randomBytes } from 'node:crypto';
import { flymeError } from '../errors.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import { parseSelector, selectorString, type Selector } from './selectors.js';

export interface Entry {
  id: string;
  spiffeId: string;
  parentId: string;
  selectors: Selector[];
  ttlSeconds: number;
  hint: string;
  createdAt: number;
}

export const DEFAULT_ENTRY_TTL = 3600;
export const MIN_ENTRY_TTL = 10;
export const MAX_ENTRY_TTL = 30 * 86400;
export const MAX_SELECTORS = 16;

/** The CA service's own identity is `spiffe://TD/ca`; agents check it, so no entry may take it. */
export const CA_PATH = '/ca';

/** The path agents are registered under: `spiffe://TD/agent/NAME`. */
export function isAgentId(id: SpiffeId): boolean {
  return /^\/agent\/[A-Za-z0-9._-]+$/.test(id.path);
}

/**
 * Validates a new entry and gives it an id and creation time.
 * @throws FlyMeError FLYME_INVALID_SPIFFE_ID / FLYME_INVALID_CONFIG naming the field.
 */
export function newEntry(trustDomain: string, e: { spiffeId: string; parentId: string; selectors: readonly (string | Selector)[]; ttlSeconds?: number; hint?: string }, now = Date.now()): Entry {
  const id = SpiffeId.parse(e.spiffeId);
  if (!id.memberOf(trustDomain)) throw flymeError('FLYME_INVALID_SPIFFE_ID', `${id.toString()} is not in this CA's trust domain ${trustDomain}`, { field: 'spiffe_id' });
  if (id.isTrustDomainId) throw flymeError('FLYME_INVALID_SPIFFE_ID', `${id.toString()} has no path: a workload ID needs one`, { field: 'spiffe_id' });
  if (isAgentId(id) || id.path.startsWith('/agent/')) throw flymeError('FLYME_INVALID_SPIFFE_ID', `${id.toString()} is under /agent/, which is reserved for agents (join tokens)`, { field: 'spiffe_id' });
  if (id.path === CA_PATH) throw flymeError('FLYME_INVALID_SPIFFE_ID', `${id.toString()} is the CA's own identity`, { field: 'spiffe_id' });
  const parent = SpiffeId.parse(e.parentId);
  if (!parent.memberOf(trustDomain) || !isAgentId(parent)) {
    throw flymeError('FLYME_INVALID_CONFIG', `parent ${parent.toString()} must be an agent ID spiffe://${trustDomain}/agent/NAME`, { field: 'parent_id' });
  }
  if (e.selectors.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'an entry needs at least one selector (e.g. unix:uid:1000)', { field: 'selectors' });
  if (e.selectors.length > MAX_SELECTORS) throw flymeError('FLYME_INVALID_CONFIG', `an entry has at most ${MAX_SELECTORS} selectors`, { field: 'selectors' });
  const selectors = e.selectors.map((s) => parseSelector(s));
  const unique = [...new Map(selectors.map((s) => [selectorString(s), s])).values()];
  const ttl = e.ttlSeconds === undefined || e.ttlSeconds === 0 ? DEFAULT_ENTRY_TTL : e.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < MIN_ENTRY_TTL || ttl > MAX_ENTRY_TTL) {
    throw flymeError('FLYME_INVALID_CONFIG', `ttl must be ${MIN_ENTRY_TTL} s to ${MAX_ENTRY_TTL} s (got ${ttl})`, { field: 'ttl_seconds' });
  }
  const hint = e.hint ?? '';
  if (hint.length > 1024) throw flymeError('FLYME_INVALID_CONFIG', 'a hint is at most 1024 characters', { field: 'hint' });
  return { id: randomBytes(12).toString('hex'), spiffeId: id.toString(), parentId: parent.toString(), selectors: unique, ttlSeconds: ttl, hint, createdAt: Math.floor(now / 1000) };
}
