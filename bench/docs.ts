/**
 * The generated parts of docs/performance.md and README.md: the figures of the latest full run, between
 * `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->` markers (README's sits inside a table cell, so on one
 * line). Nobody edits them by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeMarkdown, judgedRatio, toMarkdown, type BeforeAfterRow, type Row } from './report.js';

type Result = Parameters<typeof toMarkdown>[0] & { rows: Row[]; before?: { rev: string; subject: string; rows: BeforeAfterRow[] } };

export function replaceBetween(text: string, name: string, body: string, inline = false): string {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers ${begin} … ${end} missing`);
  const nl = inline ? ' ' : '\n';
  return text.slice(0, a + begin.length) + nl + body + nl + text.slice(b);
}

/** One line for README's status table: the date and every target, met or missed. */
export function statusLine(r: Result): string {
  const targets = r.rows.filter((x) => x.ok !== null);
  const missed = targets.filter((x) => !x.ok);
  const day = r.date.slice(0, 10);
  return `${day} full run: ${targets.length - missed.length} of ${targets.length} targets met` +
    (missed.length ? `; MISSED: ${missed.map((x) => `${x.case} vs ${x.baseline} (${judgedRatio(x)}×, target ${x.target})`).join('; ')}` : '') +
    ' — see docs/performance.md';
}

export function writeGeneratedDocs(root: string, r: Result): void {
  const perf = join(root, 'docs/performance.md');
  let text = replaceBetween(readFileSync(perf, 'utf8'), 'figures', toMarkdown(r).trimEnd());
  // A full run with --before REV also writes its before/after table; a full run without it leaves the last one.
  if (r.before) text = replaceBetween(text, 'before', beforeMarkdown(r.before).trimEnd());
  writeFileSync(perf, text);
  const readme = join(root, 'README.md');
  writeFileSync(readme, replaceBetween(readFileSync(readme, 'utf8'), 'status', statusLine(r), true));
}
