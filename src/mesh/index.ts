/** Service mesh (re-exports only): the registry with its DNS server. See docs/mesh.md. */
export { Registry, type RegistryOptions, type RegistryRecord, type ChangeKind, type RegisterInput, type RecordKey } from './registry.js';
export { Ownership } from './ownership.js';
export { serveRegistry, REGISTRY_PROTO, type RegistryServerOptions, type RegistryServer } from './server.js';
export { startDnsServer, parseHostPort, type DnsServer, type DnsServerOptions } from './dns-server.js';
export { answerQuery, MAX_QUERY_BYTES, MAX_UDP_ANSWER_BYTES, type ZoneView } from './dns-answer.js';
export { SourceRateLimiter, type RateLimitOptions } from './rate-limit.js';
export { checkName, checkAddress, checkPort, isDnsName, parseZone } from './names.js';
