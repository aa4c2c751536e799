/**
 * `flymed --config FILE`: a YAML file holding any flymed flag under its long name (`max-connections: 100`,
 * `listen: [unix:///run/flyme/flyme.sock]`). The keys are derived from flymed's own option list, so every flag
 * is a key and nothing else is; each value goes through the flag's own parser (same duration, size and mode
 * syntax), read as a string (YAML failsafe schema: `0660` stays "0660", never the number 660 or 432).
 * Errors are FLYME_INVALID_CONFIG `file:line: key: problem`. Flags given on the command line win over the file.
 */
import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { flymeError } from '../errors.js';
import { checkSchema, parseYamlFile, type YamlFile } from '../files/yaml.js';

/** A config file is a page of settings. */
export const MAX_CONFIG_BYTES = 256 * 1024;
const MAX_LIST = 256;
/** Options that cannot sit in the file: the file itself, and what only prints and exits. */
const NOT_IN_FILE = new Set(['--config', '--help', '--version']);

/**
 * Settings a SIGHUP applies to the running daemon. Connection counts, in-flight and request/shutdown
 * deadlines apply at once; max-frame and idle-timeout to connections accepted afterwards. Every other
 * key needs a restart: a change is reported and the running value kept.
 */
export const LIVE_KEYS: ReadonlySet<string> = new Set([
  'log-level', 'coalesce-events', 'max-connections', 'max-connections-per-peer', 'max-in-flight',
  'max-frame', 'idle-timeout', 'request-timeout', 'shutdown-grace',
]);

/** The parts of a commander Option this module reads. */
export interface FlagOption {
  long?: string | undefined;
  required: boolean;
  optional: boolean;
  defaultValue?: unknown;
  parseArg?: ((value: string, previous: any) => unknown) | undefined;
  attributeName(): string;
}

export interface ConfigKey {
  /** The flag's long name without dashes: the key in the file. */
  key: string;
  /** The option's attribute (camelCase) in the parsed options. */
  attr: string;
  kind: 'value' | 'list' | 'boolean';
  parse?: ((value: string, previous: any) => unknown) | undefined;
  defaultValue?: unknown;
}

/** One key per flymed flag (a repeatable flag, one whose default is a list, is a YAML list). */
export function configKeys(options: readonly FlagOption[]): ConfigKey[] {
  return options.filter((o) => o.long && !NOT_IN_FILE.has(o.long)).map((o) => ({
    key: o.long!.slice(2),
    attr: o.attributeName(),
    kind: !o.required && !o.optional ? 'boolean' : Array.isArray(o.defaultValue) ? 'list' : 'value',
    parse: o.parseArg,
    defaultValue: o.defaultValue,
  }));
}

const schemas = new WeakMap<readonly ConfigKey[], ReturnType<typeof TypeCompiler.Compile>>();
function schemaFor(keys: readonly ConfigKey[]) {
  let s = schemas.get(keys);
  if (!s) {
    const props: Record<string, TSchema> = {};
    for (const k of keys) {
      props[k.key] = Type.Optional(k.kind === 'list'
        ? Type.Array(Type.String({ maxLength: 4096 }), { maxItems: MAX_LIST })
        : Type.String({ maxLength: 4096 }));
    }
    schemas.set(keys, (s = TypeCompiler.Compile(Type.Object(props, { additionalProperties: false }))));
  }
  return s;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');

/** Settings from the file text, as option attribute → parsed value (only the keys the file sets). */
export function parseDaemonConfig(text: string, source: string, keys: readonly ConfigKey[]): Map<string, unknown> {
  const file = parseYamlFile(text, source, { maxBytes: MAX_CONFIG_BYTES, schema: 'failsafe' });
  if (file.value === null || file.value === undefined || file.value === '') file.value = {}; // an empty file sets nothing
  if (typeof file.value !== 'object' || Array.isArray(file.value)) file.fail([], 'expected a mapping of flymed settings (key: value)');
  const byKey = new Map(keys.map((k) => [k.key, k]));
  for (const name of Object.keys(file.value as object)) {
    if (byKey.has(name)) continue;
    const hint = byKey.has(kebab(name)) ? `write ${kebab(name)}: keys are the flags' long names` : name.startsWith('-') ? 'write the flag name without dashes' : 'not a flymed setting (flymed --help lists them)';
    file.fail([name], `unknown field (${hint})`);
  }
  checkSchema(schemaFor(keys), file);
  const out = new Map<string, unknown>();
  for (const [name, raw] of Object.entries(file.value as Record<string, string | string[]>)) {
    const k = byKey.get(name)!;
    out.set(k.attr, parseValue(k, raw, file));
  }
  return out;
}

function parseValue(k: ConfigKey, raw: string | string[], file: YamlFile): unknown {
  const one = (v: string, previous: unknown, at: Array<string | number>) => {
    try {
      return k.parse ? k.parse(v, previous) : v;
    } catch (e) {
      const m = (e as Error).message;
      // Commander's messages (choices) do not name the value: the file's reader should see it.
      return file.fail(at, m.includes(JSON.stringify(v)) ? m : `${JSON.stringify(v)}: ${m.charAt(0).toLowerCase()}${m.slice(1)}`);
    }
  };
  if (k.kind === 'list') {
    let acc: unknown = [];
    (raw as string[]).forEach((v, i) => { acc = one(v, acc, [k.key, i]); });
    return acc;
  }
  if (k.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') file.fail([k.key], `expected true or false, got ${JSON.stringify(raw)}`);
    return raw === 'true';
  }
  return one(raw as string, k.defaultValue, [k.key]);
}

/** Read and parse the file at `path`. */
export function readDaemonConfig(path: string, keys: readonly ConfigKey[]): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw flymeError('FLYME_INVALID_CONFIG', `${path}: cannot read the config file (${err.code ?? err.message})`, { file: path }, err);
  }
  return parseDaemonConfig(text, path, keys);
}

/** The effective options: the command line, then the file for every option not given on the command line. */
export function mergeConfig<T extends object>(cli: T, file: ReadonlyMap<string, unknown>, givenOnCommandLine: (attr: string) => boolean): T {
  const out = { ...cli } as Record<string, unknown>;
  for (const [attr, value] of file) if (!givenOnCommandLine(attr)) out[attr] = value;
  return out as T;
}

export interface ConfigChange {
  /** Changed keys a running daemon applies. */
  live: string[];
  /** Changed keys that need a restart (their running values are kept). */
  restart: string[];
  /** The options now in force: `next` for live keys, `current` for the rest. */
  effective: Record<string, unknown>;
}

/** What a reload changes, split into what applies live and what needs a restart. */
export function diffConfig(keys: readonly ConfigKey[], current: Record<string, unknown>, next: Record<string, unknown>): ConfigChange {
  const change: ConfigChange = { live: [], restart: [], effective: { ...current } };
  for (const k of keys) {
    if (JSON.stringify(current[k.attr]) === JSON.stringify(next[k.attr])) continue;
    if (LIVE_KEYS.has(k.key)) {
      change.live.push(k.key);
      change.effective[k.attr] = next[k.attr];
    } else {
      change.restart.push(k.key);
    }
  }
  return change;
}
