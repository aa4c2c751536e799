/**
 * Policy text → validated PolicyDocument. YAML and JSON alike (JSON is read by the YAML parser);
 * every error is FLYME_INVALID_CONFIG naming `file:line`, the field path and what is wrong.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { FlyMeError } from '../../errors.js';
import { checkSchema, parseYamlFile, type PathSegment } from '../../files/yaml.js';
import { SpiffeId } from '../../identity/spiffe-id.js';
import { PolicySchema, type PolicyDocument } from './schema.js';

const check = TypeCompiler.Compile(PolicySchema);
/** Largest policy file accepted (a policy is configuration, not data). */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** Parse and validate a policy file's text. `source` names it in errors. */
export function parsePolicyText(text: string, source: string): PolicyDocument {
  const file = parseYamlFile(text, source, { maxBytes: MAX_POLICY_BYTES });
  checkSchema(check, file);
  const policy = file.value as PolicyDocument;
  semanticChecks(policy, file.fail);
  return policy;
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
