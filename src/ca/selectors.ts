/**
 * Workload selectors of registration entries: `unix:uid:1000`, `unix:gid:`, `unix:user:`, `unix:group:`,
 * `unix:path:/usr/bin/x`, `unix:sha256:<hex>`. Parsed strictly (a typo is an error, never a selector that
 * matches nothing or everything); an entry matches a caller when every one of its selectors does.
 */
import { flymeError } from '../errors.js';

export type SelectorKind = 'uid' | 'gid' | 'user' | 'group' | 'path' | 'sha256';
export const SELECTOR_KINDS: readonly SelectorKind[] = ['uid', 'gid', 'user', 'group', 'path', 'sha256'];

/** The wire form (`type` "unix", `value` "uid:1000"). */
export interface Selector {
  type: string;
  value: string;
}

const NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
const CHECKS: Record<SelectorKind, (v: string) => boolean> = {
  uid: (v) => /^(0|[1-9][0-9]{0,9})$/.test(v) && Number(v) <= 0xfffffffe,
  gid: (v) => /^(0|[1-9][0-9]{0,9})$/.test(v) && Number(v) <= 0xfffffffe,
  user: (v) => NAME.test(v),
  group: (v) => NAME.test(v),
  path: (v) => v.startsWith('/') && v.length <= 4096 && !v.includes('\0') && !/(^|\/)\.\.?(\/|$)/.test(v) && !v.includes('//'),
  sha256: (v) => /^[0-9a-f]{64}$/.test(v),
};

/**
 * Parses `unix:KIND:VALUE` (the CLI form) or validates a wire selector.
 * @throws FlyMeError FLYME_INVALID_CONFIG naming what is wrong.
 * @example parseSelector('unix:uid:1000') // { type: 'unix', value: 'uid:1000' }
 */
export function parseSelector(input: string | Selector): Selector {
  if (typeof input !== 'string' && (typeof input.type !== 'string' || !/^[a-z]+$/.test(input.type) || typeof input.value !== 'string')) {
    throw flymeError('FLYME_INVALID_CONFIG', 'a selector is { type: "unix", value: "KIND:VALUE" }', { selector: String(input.type).slice(0, 100) });
  }
  const text = typeof input === 'string' ? input : `${input.type}:${input.value}`;
  const m = /^([a-z]+):([a-z0-9]+):(.*)$/s.exec(text);
  if (!m) throw flymeError('FLYME_INVALID_CONFIG', `selector "${text.slice(0, 100)}" is not TYPE:KIND:VALUE (e.g. unix:uid:1000)`, { selector: text.slice(0, 100) });
  const [, type, kind, value] = m as unknown as [string, string, string, string];
  if (type !== 'unix') throw flymeError('FLYME_INVALID_CONFIG', `selector type "${type}" is not supported (only unix)`, { selector: text.slice(0, 100) });
  if (!(SELECTOR_KINDS as readonly string[]).includes(kind)) {
    throw flymeError('FLYME_INVALID_CONFIG', `selector kind "${kind}" is not one of ${SELECTOR_KINDS.join(', ')}`, { selector: text.slice(0, 100) });
  }
  if (!CHECKS[kind as SelectorKind](value)) {
    throw flymeError('FLYME_INVALID_CONFIG', `selector value "${value.slice(0, 100)}" is not a valid ${kind}${kind === 'sha256' ? ' (64 lowercase hex digits)' : kind === 'path' ? ' (an absolute, normalised path)' : ''}`, { selector: text.slice(0, 100) });
  }
  return { type, value: `${kind}:${value}` };
}

export function selectorString(s: Selector): string {
  return `${s.type}:${s.value}`;
}

/** The kind of a (parsed) selector. */
export function selectorKind(s: Selector): SelectorKind {
  return s.value.slice(0, s.value.indexOf(':')) as SelectorKind;
}
