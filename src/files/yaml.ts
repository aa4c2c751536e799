/**
 * Configuration files in YAML (or JSON, read by the YAML parser), checked against a TypeBox schema, with
 * every error FLYME_INVALID_CONFIG as `file:line: field: problem`. The policy file and `flymed --config` use it.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { flymeError } from '../errors.js';

export type PathSegment = string | number;

export interface YamlFile {
  /** The document as plain JSON values. */
  value: unknown;
  /** Throw FLYME_INVALID_CONFIG `source:line: a.b.0: message`, at the line of the nearest node the document has. */
  fail(path: PathSegment[], message: string): never;
}

export interface YamlOptions {
  maxBytes: number;
  /** `failsafe`: every scalar is a string (values then go through the same parsers as the command line). Default `core`. */
  schema?: 'core' | 'failsafe';
}

/** Parse `text` (named `source` in errors). Throws on syntax errors, duplicate keys and alias bombs. */
export function parseYamlFile(text: string, source: string, o: YamlOptions): YamlFile {
  if (Buffer.byteLength(text) > o.maxBytes) {
    throw flymeError('FLYME_INVALID_CONFIG', `${source}: larger than ${o.maxBytes} bytes`, { file: source });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, ...(o.schema ? { schema: o.schema } : {}) });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lines.linePos(e.pos[0]).line;
    throw flymeError('FLYME_INVALID_CONFIG', `${source}:${line}: not valid YAML/JSON: ${e.message.split('\n')[0]}`, { file: source, line });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml reports an alias without an anchor and an alias blow-up ("billion laughs") only here, as ReferenceError.
    throw flymeError('FLYME_INVALID_CONFIG', `${source}: not valid YAML/JSON: ${(err as Error).message}`, { file: source }, err);
  }
  return { value, fail: (path, message) => failAt(source, doc, lines, path, message) };
}

function failAt(source: string, doc: Document, lines: LineCounter, path: PathSegment[], message: string): never {
  // Walk up to the nearest node the document has (a missing field is reported at its parent).
  let at: number | undefined;
  for (let n = path.length; n >= 0 && at === undefined; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) at = range[0];
  }
  const line = at === undefined ? 1 : lines.linePos(at).line;
  const field = path.length ? path.join('.') : '(top level)';
  throw flymeError('FLYME_INVALID_CONFIG', `${source}:${line}: ${field}: ${message}`, { file: source, line, field });
}

/** Check `file.value` against a compiled schema; the first error fails at its field's line. */
export function checkSchema<T extends TSchema>(check: TypeCheck<T>, file: YamlFile): void {
  if (check.Check(file.value)) return;
  const first = check.Errors(file.value).First()!;
  const path = first.path.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  file.fail(path, schemaMessage(first.message, first.value));
}

function schemaMessage(message: string, value: unknown): string {
  if (message.startsWith('Unexpected property')) return 'unknown field';
  if (message === 'Expected required property') return 'required field is missing';
  if (message.includes('Expected string to match')) return `invalid value ${JSON.stringify(value)}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}
