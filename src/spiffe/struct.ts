/** google.protobuf.Struct in proto-loader's shape (protobufjs's bundled struct.proto names its Value fields in camelCase), both ways. */

export interface StructValue {
  nullValue?: 'NULL_VALUE';
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields: Record<string, StructValue> };
  listValue?: { values: StructValue[] };
}

export function toValue(v: unknown): StructValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

export function toStruct(o: Record<string, unknown>): { fields: Record<string, StructValue> } {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}

export function fromValue(v: (StructValue & { kind?: string }) | undefined): unknown {
  if (!v) return null;
  // proto-loader with `defaults` fills every oneof member; `kind` names the one that was set.
  if (v.kind) {
    const set = (v as Record<string, unknown>)[v.kind];
    if (v.kind === 'structValue') return fromStruct(set as { fields?: Record<string, StructValue> });
    if (v.kind === 'listValue') return ((set as { values?: StructValue[] }).values ?? []).map(fromValue);
    return v.kind === 'nullValue' ? null : set;
  }
  if (v.structValue) return fromStruct(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(fromValue);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return null;
}

export function fromStruct(s: { fields?: Record<string, StructValue> } | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, fromValue(v)]));
}
