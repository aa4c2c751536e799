/** FlyMe mutual TLS 1.3 with X.509-SVIDs: a server upgrader for `listen()` and a client dialer. */
export {
  TlsServerUpgrader, tlsErrorReason, refusal, verificationRefusal, verifyPeer, peerChain,
  type TlsServerOptions, type TlsReloadEvent, type TlsRefusalReason,
} from './server.js';
export { dialTls, type DialTlsOptions } from './client.js';
export { spiffeServerIdentity } from './server-identity.js';
