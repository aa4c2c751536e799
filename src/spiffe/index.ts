/** SPIFFE Workload API: client, X509Source, JWT-SVID validation, and FlyMe's agent (re-exports only). */
export { WorkloadApiClient, materialFromResponse, type WireX509Response } from './client.js';
export { workloadX509Source, WorkloadX509Source, type WorkloadSourceOptions } from './source.js';
export { workloadJwtSource, StaticJwtSource, type JwtSource, type JwtSvid } from './jwt-source.js';
export { validateJwtSvid, JwtBundleSet, JWT_SVID_ALGORITHMS, type ValidatedJwtSvid } from './jwt-svid.js';
export { endpointTarget, endpointFrom, ENDPOINT_ENV } from './endpoint.js';
export { attest, type Attestation } from './attest.js';
export { runAgent, type RunAgentOptions, type RunningAgent } from './agent/run.js';
