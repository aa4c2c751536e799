/** FlyMe's certificate authority service (curated public surface, listed in docs/api.md). See docs/workload-identity.md. */
export { Authority, type AuthorityOptions, type IssuedOut, type AgentStateOut } from './authority.js';
export { serveCa, type CaServerOptions, type CaServer } from './server.js';
export { CaAdminClient, AgentCaClient } from './client.js';
export { initCaDir, loadCaMaterial, rotateIntermediate, caFiles, type CaMaterial, type InitOptions } from './material.js';
export type { Entry } from './entries.js';
export { parseSelector, selectorString, SELECTOR_KINDS, type Selector, type SelectorKind } from './selectors.js';
