/**
 * Who may own which name: the `registry:` section of the registry's policy file (YAML or JSON), checked with
 * TypeBox; errors name `file:line`.
 *
 * @example
 * registry:
 *   names:                                   # exact name → the SPIFFE IDs that may register it
 *     db.example.org: [spiffe://example.org/db/primary]
 *   templates:                               # {name} is one DNS label, the same in both
 *     - name: "{name}.example.org"
 *       owner: "spiffe://example.org/svc/{name}"
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { flymeError, FlyMeError } from '../errors.js';
import { checkSchema, parseYamlFile, type PathSegment } from '../files/yaml.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import { canonicalName, inZone, isDnsName } from './names.js';

const MAX_FILE_BYTES = 1024 * 1024;
const PLACEHOLDER = '{name}';
const LABEL_RE = '([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)';

const OwnershipSchema = Type.Object({
  registry: Type.Object({
    names: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 64 }))),
    templates: Type.Optional(Type.Array(Type.Object({ name: Type.String(), owner: Type.String() }, { additionalProperties: false }), { maxItems: 256 })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
type OwnershipDocument = Static<typeof OwnershipSchema>;
const check = TypeCompiler.Compile(OwnershipSchema);

interface Template { name: RegExp; owner: string; text: string }

export class Ownership {
  private constructor(private readonly exact: ReadonlyMap<string, readonly string[]>, private readonly templates: readonly Template[], readonly source: string) {}

  /** Reads and checks `path`; every name and template must lie inside `zone`. */
  static load(path: string, zone: string): Ownership {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw flymeError('FLYME_INVALID_CONFIG', `cannot read registry policy ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: path }, err);
    }
    return Ownership.parse(text, path, zone);
  }

  static parse(text: string, source: string, zone: string): Ownership {
    const file = parseYamlFile(text, source, { maxBytes: MAX_FILE_BYTES });
    checkSchema(check, file);
    const doc = file.value as OwnershipDocument;
    semantic(doc, zone, file.fail);
    const exact = new Map(Object.entries(doc.registry.names ?? {}).map(([n, ids]) => [canonicalName(n), ids]));
    const templates = (doc.registry.templates ?? []).map((t) => ({
      text: `${t.name} <- ${t.owner}`,
      name: new RegExp(`^${t.name.toLowerCase().split(PLACEHOLDER).map(escape).join(LABEL_RE)}$`),
      owner: t.owner,
    }));
    return new Ownership(exact, templates, source);
  }

  /** The SPIFFE IDs that may own `name` (exact entries first, then every matching template). */
  owners(name: string): string[] {
    const out = [...(this.exact.get(name) ?? [])];
    for (const t of this.templates) {
      const m = t.name.exec(name);
      if (m) out.push(t.owner.replace(PLACEHOLDER, m[1]!));
    }
    return out;
  }

  /**
   * @throws FlyMeError FLYME_PERMISSION_DENIED saying which identities may own the name (or that none may).
   */
  assertOwner(caller: string | undefined, name: string): string {
    if (!caller) throw flymeError('FLYME_PERMISSION_DENIED', `registering ${name} needs a client certificate with a SPIFFE ID`, { name });
    const owners = this.owners(name);
    if (owners.includes(caller)) return caller;
    throw flymeError('FLYME_PERMISSION_DENIED', owners.length
      ? `${caller} does not own ${name} (owner${owners.length > 1 ? 's' : ''} by ${this.source}: ${owners.slice(0, 4).join(', ')})`
      : `${caller} does not own ${name}: no rule in ${this.source} gives ${name} an owner`, { name, caller });
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function semantic(d: OwnershipDocument, zone: string, fail: (path: PathSegment[], message: string) => never): void {
  const spiffe = (id: string, path: PathSegment[]) => {
    try {
      SpiffeId.parse(id);
    } catch (e) {
      if (e instanceof FlyMeError) fail(path, e.message);
      throw e;
    }
  };
  for (const [name, ids] of Object.entries(d.registry.names ?? {})) {
    const n = canonicalName(name);
    if (!isDnsName(n)) fail(['registry', 'names', name], `"${name}" is not a DNS name`);
    if (n === zone || !inZone(n, zone)) fail(['registry', 'names', name], `"${name}" is not inside the zone ${zone}`);
    ids.forEach((id, i) => spiffe(id, ['registry', 'names', name, i]));
  }
  (d.registry.templates ?? []).forEach((t, i) => {
    const count = (s: string) => s.split(PLACEHOLDER).length - 1;
    if (count(t.name) !== 1) fail(['registry', 'templates', i, 'name'], `a template name needs ${PLACEHOLDER} exactly once (e.g. "${PLACEHOLDER}.${zone}")`);
    if (count(t.owner) !== 1) fail(['registry', 'templates', i, 'owner'], `a template owner needs ${PLACEHOLDER} exactly once (e.g. "spiffe://${zone}/svc/${PLACEHOLDER}")`);
    const sample = canonicalName(t.name.replace(PLACEHOLDER, 'x'));
    if (!isDnsName(sample)) fail(['registry', 'templates', i, 'name'], `"${t.name}" does not make DNS names`);
    if (sample === zone || !inZone(sample, zone)) fail(['registry', 'templates', i, 'name'], `"${t.name}" makes names outside the zone ${zone}`);
    spiffe(t.owner.replace(PLACEHOLDER, 'x'), ['registry', 'templates', i, 'owner']);
  });
}
