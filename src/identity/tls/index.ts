/** FlyMe mutual TLS 1.3 with X.509-SVIDs: a server upgrader for `listen()` and a client dialer, both over identity sources. */
export {
  TlsServerUpgrader, type TlsServerOptions, type TlsServerFilesOptions, type TlsReloadEvent,
} from './server.js';
export { tlsErrorReason, refusal, verificationRefusal, type TlsRefusalReason } from './refusal.js';
export { verifyPeer, verifyDers, presentedDers, type VerifiedPeer } from './verify-peer.js';
export { LiveConnections, type InvalidatedPeer } from './live.js';
export { serverContext, clientContext } from './contexts.js';
export { dialTls, type DialTlsOptions } from './client.js';
export { spiffeServerIdentity } from './server-identity.js';
