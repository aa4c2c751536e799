/**
 * Policy text → validated PolicyDocument. YAML and JSON alike (JSON is read by the YAML parser);
 * every error is FLYME_INVALID_CONFIG naming `file:line`, the field path and what is wrong.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { flymeError, FlyMeError } from '../../errors.js';
import { SpiffeId } from '../../identity/spiffe-id.js';
import { PolicySchema, type PolicyDocument } from './schema.js';

const check = TypeCompiler.Compile(PolicySchema);
/** Largest policy file accepted (a policy is configuration, not data). */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

export type PathSegment = string | number;

function fail(source: string, doc: Document, lines: LineCounter, path: PathSegment[], message: string): never {
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

/** Parse and validate a policy file's text. `source` names it in errors. */
export function parsePolicyText(text: string, source: string): PolicyDocument {
  return parseCheckedYaml(text, source, check, MAX_POLICY_BYTES, semanticChecks);
}

/**
 * YAML (or JSON) text → a value checked against a compiled TypeBox schema, then by `semantic`; every error is
 * FLYME_INVALID_CONFIG naming `file:line`, the field path and what is wrong. Shared by the policy file and
 * other configuration files built the same way (the registry's ownership rules).
 */
export function parseCheckedYaml<T>(text: string, source: string, checker: { Check(v: unknown): v is T; Errors(v: unknown): { First(): { path: string; message: string; value: unknown } | undefined } },
  maxBytes: number, semantic?: (value: T, fail: (path: PathSegment[], message: string) => never) => void): T {
  if (Buffer.byteLength(text) > maxBytes) {
    throw flymeError('FLYME_INVALID_CONFIG', `${source}: larger than ${maxBytes} bytes`, { file: source });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
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
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First()!;
    const path = first.path.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    fail(source, doc, lines, path, schemaMessage(first.message, first.value));
  }
  semantic?.(value, (path, message) => fail(source, doc, lines, path, message));
  return value;
}

function schemaMessage(message: string, value: unknown): string {
  if (message.startsWith('Unexpected property')) return 'unknown field';
  if (message === 'Expected required property') return 'required field is missing';
  if (message.includes('Expected string to match')) return `invalid value ${JSON.stringify(value)}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

const SELECTORS = ['uid', 'gid', 'spiffeId', 'spiffeIdPrefix'] as const;

/** `admin` is built in (every method) and need not be defined. */
function semanticChecks(p: PolicyDocument, fail: (path: PathSegment[], message: string) => never): void {
  const known = (path: PathSegment[], roles: readonly string[]) => roles.forEach((r, i) => {
    if (r !== 'admin' && !Object.hasOwn(p.roles, r)) fail([...path, i], `role "${r}" is not defined under roles`);
  });
  (p.bindings ?? []).forEach((b, i) => {
    const set = SELECTORS.filter((k) => b[k] !== undefined);
    if (set.length !== 1) fail(['bindings', i], `a binding needs exactly one of ${SELECTORS.join(', ')} (found ${set.length ? set.join(', ') : 'none'})`);
    known(['bindings', i, 'roles'], b.roles);
    if (b.spiffeId !== undefined) spiffe(b.spiffeId, ['bindings', i, 'spiffeId']);
    if (b.spiffeIdPrefix !== undefined) {
      if (!b.spiffeIdPrefix.endsWith('/')) fail(['bindings', i, 'spiffeIdPrefix'], 'a prefix must end with "/" so that spiffe://td/ops does not match spiffe://td/opsx');
      spiffe(b.spiffeIdPrefix.slice(0, -1), ['bindings', i, 'spiffeIdPrefix']);
    }
  });
  const seen = new Set<string>();
  (p.issuers ?? []).forEach((iss, i) => {
    if (seen.has(iss.iss)) fail(['issuers', i, 'iss'], `issuer "${iss.iss}" is listed twice`);
    seen.add(iss.iss);
    for (const [sub, roles] of Object.entries(iss.subjects)) known(['issuers', i, 'subjects', sub], roles);
  });

  function spiffe(id: string, path: PathSegment[]): void {
    try {
      SpiffeId.parse(id);
    } catch (e) {
      if (e instanceof FlyMeError) fail(path, e.message);
      throw e;
    }
  }
}
