/** Small parsers for CLI values: durations (250ms, 30s, 5m, 1h, 7d), sizes (1MiB, 64KiB), octal modes. */

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h, 7d)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : unit === 'h' ? n * 3_600_000 : n * 86_400_000;
  if (ms <= 0) throw new Error(`duration "${text}" must be positive`);
  return Math.round(ms);
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
