/** Command-line value parsers shared by flymed and flyme (a layer below both): durations (250ms, 30s, 5m, 1h, 7d; src/duration.ts), sizes (1MiB, 64KiB), octal modes. */
import { InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { MAX_TIMER_MS, parseDuration, parseDurationSeconds, type DurationOptions } from '../duration.js';

/**
 * A commander argument parser for a duration flag, in milliseconds (src/duration.ts: `500ms`, `30s`,
 * `10m`, `1h`, `7d`, `1h30m`; a bare number is refused). Timer flags are capped at MAX_TIMER_MS.
 */
export const durationArg = (options: DurationOptions = { maxMs: MAX_TIMER_MS }) => (v: string): number => asArgument(() => parseDuration(v, options));

/** A commander argument parser for a lifetime flag counted in whole seconds (token, SVID and CA TTLs). */
export const secondsArg = (options: DurationOptions = {}) => (v: string): number => asArgument(() => parseDurationSeconds(v, options));

/** A duration flag in milliseconds whose default is shown in --help as written (`60s`, not `60000`). */
export function durationOption<F extends string>(flags: F, description: string, defaultText: string, options: DurationOptions = { maxMs: MAX_TIMER_MS }) {
  return new Option(flags, description).argParser(durationArg(options)).default(parseDuration(defaultText, options), defaultText);
}

/** A lifetime flag in whole seconds, its default shown as written (`1h`, not `3600`). */
export function secondsOption<F extends string>(flags: F, description: string, defaultText: string, options: DurationOptions = {}) {
  return new Option(flags, description).argParser(secondsArg(options)).default(parseDurationSeconds(defaultText, options), defaultText);
}

function asArgument<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function parseSize(text: string): number {
  const m = /^(\d+)(B|KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (!m) throw new Error(`invalid size "${text}" (use e.g. 65536, 64KiB, 1MiB)`);
  const mult: Record<string, number> = { b: 1, k: 1024, kib: 1024, m: 1 << 20, mib: 1 << 20, g: 1 << 30, gib: 1 << 30 };
  const n = Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]!;
  if (n < 16) throw new Error(`size "${text}" is too small`);
  return n;
}

export function parseMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error(`invalid mode "${text}" (use octal, e.g. 0660)`);
  return parseInt(text, 8);
}
