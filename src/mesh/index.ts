/** Service mesh (re-exports only): the registry with its DNS server, the SNI router. See docs/mesh.md. */
export { Registry, type RegistryOptions, type RegistryRecord, type ChangeKind, type RegisterInput, type RecordKey } from './registry.js';
export { Ownership } from './ownership.js';
export { serveRegistry, REGISTRY_PROTO, type RegistryServerOptions, type RegistryServer } from './server.js';
export { startDnsServer, parseHostPort, type DnsServer, type DnsServerOptions } from './dns-server.js';
export { answerQuery, MAX_QUERY_BYTES, MAX_UDP_ANSWER_BYTES, type ZoneView } from './dns-answer.js';
export { SourceRateLimiter, type RateLimitOptions } from './rate-limit.js';
export { checkName, checkAddress, checkPort, isDnsName, parseZone } from './names.js';
export { startRouter, RouteTable, type Route, type Router, type RouterOptions } from './router.js';
export { followRegistry, type FollowOptions } from './follow.js';
export { readClientHello, MAX_CLIENT_HELLO_BYTES, type HelloResult } from './client-hello.js';
export { RegistryClient, registryTarget, type RegistryClientOptions, type RemoteRecord } from './registry-client.js';
export { startEgressProxy, parseUpstreams, type EgressOptions, type EgressEvent, type EgressProxy, type Upstream } from './egress.js';
