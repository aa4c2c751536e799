/**
 * The policy file's schema (YAML or JSON). Compiled once; `parsePolicyText` maps the first schema
 * error back to the file's line and the field path.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelsSchema } from './channels.js';

const RoleName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.:-]{0,63}$' });
/** A permission (a flymed method name, or a gRPC method path `/pkg.Service/Method`) or `*` for every method. */
const Permission = Type.String({ pattern: '^(\\*|[A-Za-z][A-Za-z0-9_.]{0,127}|/[A-Za-z_][A-Za-z0-9_.]{0,127}/[A-Za-z_][A-Za-z0-9_]{0,127})$' });
const AbsolutePath = Type.String({ pattern: '^/', maxLength: 4096 });
const Roles = Type.Array(RoleName, { minItems: 1, maxItems: 64 });

export const RoleSchema = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 512 })),
  methods: Type.Array(Permission, { maxItems: 256 }),
  list: Type.Optional(Type.Object({ roots: Type.Array(AbsolutePath, { maxItems: 64 }) }, { additionalProperties: false })),
}, { additionalProperties: false });

/** Exactly one selector per binding (checked after the schema). */
export const BindingSchema = Type.Object({
  uid: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967294 })),
  gid: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967294 })),
  spiffeId: Type.Optional(Type.String({ maxLength: 2048 })),
  spiffeIdPrefix: Type.Optional(Type.String({ maxLength: 2048 })),
  roles: Roles,
}, { additionalProperties: false });

export const IssuerSchema = Type.Object({
  iss: Type.String({ minLength: 1, maxLength: 1024 }),
  jwks: AbsolutePath,
  audience: Type.String({ minLength: 1, maxLength: 1024 }),
  rolesClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  maxRoles: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  algorithms: Type.Optional(Type.Array(Type.Union([Type.Literal('ES256'), Type.Literal('EdDSA')]), { minItems: 1 })),
  /** Roles each token subject (`sub`) may hold; each subject spelled out (no wildcards). */
  subjects: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.:@/-]{1,256}$' }), Type.Array(RoleName, { maxItems: 64 })),
}, { additionalProperties: false });

export const PolicySchema = Type.Object({
  version: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()])),
  roles: Type.Record(RoleName, RoleSchema),
  bindings: Type.Optional(Type.Array(BindingSchema, { maxItems: 10_000 })),
  issuers: Type.Optional(Type.Array(IssuerSchema, { maxItems: 32 })),
  /** Pub/sub channel ACL (docs/redis.md). */
  channels: Type.Optional(ChannelsSchema),
}, { additionalProperties: false });

export type PolicyDocument = Static<typeof PolicySchema>;
export type RoleDefinition = Static<typeof RoleSchema>;
export type Binding = Static<typeof BindingSchema>;
export type TrustedIssuer = Static<typeof IssuerSchema>;
