/** Authentication and authorization building blocks (re-exports only). */
export type { PeerIdentity, CertificateIdentity, TokenIdentity, Principal } from './principal.js';
export { emptyPrincipal, describePrincipal } from './principal.js';
export * from './jwt/index.js';
export * from './replay-cache.js';
export * from './role-config.js';
export * from './thumbprint.js';
export type { SecurityEvent, SecurityEventKind, SecuritySeverity, SecurityEventSink } from './events.js';
export { ignoreSecurityEvents, fanOutSecurityEvents, limitSecurityEvents } from './events.js';
export * from './policy/index.js';
