/** Secure Redis pub/sub (curated public surface, listed in docs/api.md). See docs/redis.md. */
export { SecureRedis, type SecureRedisOptions } from './client.js';
export type { Subscription } from './subscription.js';
export { sealEnvelope, signerFromPem, EnvelopeVerifier, MessageRejected, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_WINDOW_SECONDS, type Signer, type VerifiedMessage, type EnvelopeBody, type RejectReason } from './envelope.js';
export { redisAclUsers, type RedisAclUser, type RedisAclPlan } from './redis-acl.js';
export { writeRedisAcl, type WrittenRedisAcl } from './acl-files.js';
export { loadRedisCredentials, type RedisCredentials } from './credentials.js';
export { SecureRedisClientBuilder } from './builder.js';
export { DEFAULT_PUBLISH_TIMEOUT_MS, type ClusterOptions, type NodeAddressMap } from './cluster.js';
export { envelopeTokenRoles } from './token-roles.js';
