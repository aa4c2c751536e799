/**
 * JSON-RPC ids that a JavaScript number cannot carry: the spec says a response's id MUST be the same
 * value as the request's, and Go/Rust clients use 64-bit integers (9007199254740993 would come back as
 * ...992 through a double). Such an id keeps the exact text of its number token and is echoed byte for byte.
 */

/** A numeric id kept as the exact text of its JSON number token (e.g. `9007199254740993`, `-0`, `1.50`, `1e400`). */
export class ExactNumberId {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * Whether a parsed numeric id may not reproduce its token: JSON.stringify(n) gives the shortest text of
 * the double, so only integers in the safe range below 10^15 (canonical text of at most 15 digits, other
 * than -0) are known to round-trip without looking at the frame. Everything else is re-read from the text.
 */
export function mayLoseText(n: number): boolean {
  return !Number.isSafeInteger(n) || n >= 1e15 || n <= -1e15 || Object.is(n, -0);
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string starting at s[i] === '"'. */
function skipString(s: string, i: number): number {
  i++;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return s.length;
    let bs = 0;
    for (let k = q - 1; k >= i && s.charCodeAt(k) === 0x5c; k--) bs++;
    if (bs % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/** Index just past the JSON value starting at s[i]. */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return skipString(s, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d === 0x22) { i = skipString(s, i); continue; }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // number or literal: up to the next delimiter
  while (i < s.length) {
    const d = s.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || WS.has(d)) break;
    i++;
  }
  return i;
}

/**
 * The raw text of the top-level "id" member of a JSON object that JSON.parse has already accepted
 * (so the text is known to be valid). The last "id" wins, as with JSON.parse; escaped keys are decoded.
 * A string-aware scan of the top level: nested values are skipped without looking inside.
 */
export function topLevelIdToken(text: string): string | undefined {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return undefined;
  i++;
  let found: string | undefined;
  for (;;) {
    i = skipWs(text, i);
    if (i >= text.length || text.charCodeAt(i) === 0x7d) return found;
    if (text.charCodeAt(i) === 0x2c) { i++; continue; }
    const keyEnd = skipString(text, i);
    const rawKey = text.slice(i + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : rawKey;
    i = skipWs(text, keyEnd);
    i = skipWs(text, i + 1); // past ':'
    const end = skipValue(text, i);
    if (key === 'id') found = text.slice(i, end);
    i = end;
  }
}
