/** Policy (re-exports only). */
export { Policy, PUBLIC_PERMISSIONS, ADMIN_ROLE, type PolicyInfo, type Subject, type Explanation } from './policy.js';
export { PolicyStore, type PolicyStoreOptions } from './store.js';
export { parsePolicyText, MAX_POLICY_BYTES } from './parse.js';
export type { PolicyDocument, RoleDefinition, Binding, TrustedIssuer } from './schema.js';
export { ChannelAcl, ChannelsSchema, type ChannelRule, type ChannelSelector, type ChannelSubject } from './channels.js';
