/** Tokens: issue and verify FlyMe JWTs (re-exports only). */
export * from './algorithms.js';
export * from './signing-key.js';
export * from './verification-keys.js';
export * from './jwks-source.js';
export * from './key-files.js';
export * from './issuer.js';
export * from './verifier.js';
export * from './errors-map.js';
export { ONE_TIME_CLAIM, REQUIRED_CLAIMS } from './claims.js';
