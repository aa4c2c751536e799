/**
 * `flyme/auth`: the curated public surface for authentication and authorization — principals, tokens (issue,
 * verify, key sets, replay cache), role configs, the policy and its one decision, security events. Internal
 * helpers (atomic file writers, jose error mapping, algorithm checks) are not exported.
 */
export type { PeerIdentity, CertificateIdentity, TokenIdentity, Principal } from './principal.js';
export { emptyPrincipal, describePrincipal } from './principal.js';
export { DEFAULT_ALGORITHMS, type JwtAlgorithm } from './jwt/algorithms.js';
export { generateSigningKey, importSigningKey, type SigningKey, type GeneratedKey } from './jwt/signing-key.js';
export { VerificationKeySet } from './jwt/verification-keys.js';
export { JwksFileSource, staticKeySource, type KeySource, type JwksFileSourceOptions } from './jwt/jwks-source.js';
export { writeKeyFiles, type WrittenKeyFiles } from './jwt/key-files.js';
export { TokenIssuer, type TokenIssuerOptions, type IssueOptions } from './jwt/issuer.js';
export { TokenVerifier, type TokenVerifierOptions, type VerifyContext, type VerifiedToken } from './jwt/verifier.js';
export { ONE_TIME_CLAIM, REQUIRED_CLAIMS } from './jwt/claims.js';
export { ReplayCache, DEFAULT_REPLAY_CACHE_SIZE, type ReplayCacheOptions, type ReplayCheck } from './replay-cache.js';
export { RoleConfig, type RoleConfigObject, type GrantedRoles } from './role-config.js';
export { certificateThumbprint } from './thumbprint.js';
export { decide, revokeTokenRoles, type DecideOptions, type RoleTable, type TokenCheck } from './decision.js';
export type { SecurityEvent, SecurityEventKind, SecuritySeverity, SecurityEventSink } from './events.js';
export { ignoreSecurityEvents, fanOutSecurityEvents, limitSecurityEvents } from './events.js';
export { coalesceSecurityEvents, type CoalesceOptions } from './coalesce-events.js';
export { Policy, PUBLIC_PERMISSIONS, ADMIN_ROLE, type PolicyInfo, type Subject, type Explanation } from './policy/policy.js';
export { PolicyStore, type PolicyStoreOptions } from './policy/store.js';
export { parsePolicyText, MAX_POLICY_BYTES } from './policy/parse.js';
export type { PolicyDocument, RoleDefinition, Binding, TrustedIssuer } from './policy/schema.js';
export { ChannelAcl, type ChannelRule, type ChannelSelector, type ChannelSubject } from './policy/channels.js';
