/** SPIFFE Workload API: client, X509Source, JWT-SVID validation, and FlyMe's agent (curated public surface, listed in docs/api.md). */
export { WorkloadApiClient } from './client.js';
export { workloadX509Source, WorkloadX509Source, type WorkloadSourceOptions } from './source.js';
export { workloadJwtSource, StaticJwtSource, type JwtSource, type JwtSvid } from './jwt-source.js';
export { validateJwtSvid, JwtBundleSet, JWT_SVID_ALGORITHMS, type ValidatedJwtSvid } from './jwt-svid.js';
export { endpointTarget, endpointFrom, ENDPOINT_ENV } from './endpoint.js';
export { runAgent, type RunAgentOptions, type RunningAgent } from './agent/run.js';
