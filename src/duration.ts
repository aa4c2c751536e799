/**
 * The one duration syntax of every FlyMe flag and option: a number with a unit, `500ms`, `30s`, `10m`,
 * `1h`, `7d`, or several from the largest unit down, `1h30m`. A bare number is refused: it meant
 * milliseconds to flymed and seconds to `flyme token`, so `--idle-timeout 30` closed connections after
 * 30 ms. Errors are FLYME_INVALID_CONFIG and name the units.
 */
import { flymeError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: Unit[] = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d{1,9}(?:\.\d{1,9})?)(ms|s|m|h|d)/y;
/** Node timers (setTimeout, socket.setTimeout) fire at once beyond 2^31-1 ms: the limit of timer flags. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How often a sweep checks a timeout: a quarter of it, at least every 250 ms and at most every 20 ms, so a
 * deadline is noticed at most a quarter of its length (and at most 250 ms) late without waking a tight loop.
 *
 * @example
 * sweepPeriodMs(10_000) // → 250; sweepPeriodMs(200) // → 50
 */
export function sweepPeriodMs(timeoutMs: number): number {
  return Math.min(250, Math.max(20, timeoutMs / 4));
}

export const DURATION_UNITS = 'ms, s, m, h, d';
const EXAMPLES = 'e.g. 500ms, 30s, 10m, 1h, 7d, 1h30m';

export interface DurationOptions {
  /** What is being parsed, for the message (e.g. "--idle-timeout"). */
  name?: string;
  /** Largest accepted value in milliseconds. */
  maxMs?: number;
  /** Accept 0 (default: a duration must be positive). */
  allowZero?: boolean;
}

function fail(text: string, why: string, name: string | undefined): never {
  const shown = JSON.stringify(String(text).slice(0, 40));
  throw flymeError('FLYME_INVALID_CONFIG', `${name ? `${name}: ` : ''}invalid duration ${shown}: ${why}`, name ? { option: name } : undefined);
}

/**
 * Milliseconds in a duration text. Throws FLYME_INVALID_CONFIG naming the units.
 *
 * @example
 * parseDuration('1h30m') // → 5_400_000
 * parseDuration('30')    // throws: a number needs a unit
 */
export function parseDuration(text: string, options: DurationOptions = {}): number {
  const { name } = options;
  const s = typeof text === 'string' ? text.trim() : '';
  if (s.length === 0 || s.length > 64) fail(text, `use a number and a unit (${DURATION_UNITS}), ${EXAMPLES}`, name);
  if (/^\d+(\.\d+)?$/.test(s)) fail(text, `a bare number has no unit; write ${s}ms, ${s}s, ${s}m, ${s}h or ${s}d (units: ${DURATION_UNITS})`, name);
  let ms = 0;
  let pos = 0;
  let last = -1;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) fail(text, `use a number and a unit (${DURATION_UNITS}), ${EXAMPLES}`, name);
    const rank = ORDER.indexOf(m[2] as Unit);
    if (rank <= last) fail(text, 'give each unit once, largest first (e.g. 1h30m)', name);
    last = rank;
    ms += Number(m[1]) * UNIT_MS[m[2] as Unit];
    pos = PART.lastIndex;
  }
  ms = Math.round(ms);
  if (ms === 0 && !options.allowZero) fail(text, 'must be more than 0', name);
  if (options.maxMs !== undefined && ms > options.maxMs) fail(text, `must be at most ${formatDuration(options.maxMs)}`, name);
  return ms;
}

/**
 * Whole seconds in a duration text (for lifetimes counted in seconds: tokens, SVIDs, join tokens).
 * A sub-second remainder is refused rather than rounded.
 *
 * @example
 * parseDurationSeconds('15m') // → 900
 */
export function parseDurationSeconds(text: string, options: DurationOptions = {}): number {
  const ms = parseDuration(text, options);
  if (ms % 1000 !== 0) fail(text, 'must be a whole number of seconds', options.name);
  return ms / 1000;
}

/** The shortest exact text of a duration in milliseconds: 5400000 → "1h30m", 1500 → "1s500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = Math.round(ms);
  let out = '';
  for (const u of ORDER) {
    const n = Math.floor(left / UNIT_MS[u]);
    if (n > 0) {
      out += `${n}${u}`;
      left -= n * UNIT_MS[u];
    }
  }
  return out;
}
