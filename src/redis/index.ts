/** Secure Redis pub/sub (re-exports only). See docs/redis.md. */
export { SecureRedis, type SecureRedisOptions } from './client.js';
export { Subscription } from './subscription.js';
export { sealEnvelope, signerFromPem, EnvelopeVerifier, MessageRejected, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_WINDOW_SECONDS, type Signer, type VerifiedMessage, type EnvelopeBody, type RejectReason } from './envelope.js';
export { redisAclRules } from './redis-acl.js';
export { SecureRedisClientBuilder } from './builder.js';
export { DEFAULT_PUBLISH_TIMEOUT_MS, type ClusterOptions, type NodeAddressMap } from './cluster.js';
export { envelopeTokenRoles } from './token-roles.js';
