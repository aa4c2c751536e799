/**
 * FlyMe identity: SPIFFE IDs, authorizers, a CA issuing X.509-SVIDs, certificate parsing and chain
 * verification, trust bundles, and safe key files. See docs/identity.md.
 */
export { SpiffeId, parseTrustDomain, MAX_SPIFFE_ID_BYTES, MAX_TRUST_DOMAIN_BYTES, type SpiffeIdRule } from './spiffe-id.js';
export {
  authorizeAll, authorizeAny, authorizeAnyOf, authorizeId, authorizeMemberOf, authorizeOneOf, authorizePathPrefix,
  type Authorizer,
} from './authorizer.js';
export { generateKeyPair, exportPrivateKeyPem, importPrivateKeyPem, type KeyType, type CryptoKey, type CryptoKeyPair } from './keys.js';
export { createRootCA, createIntermediateCA, loadCA, parseCA, type CertificateAuthority, type CAOptions } from './ca.js';
export { createCrl, type CrlOptions } from './crl.js';
export { issueSvid, issueSvidWithKey, type IssueSvidOptions, type IssuedSvid, type IssuedSvidWithKey } from './issue.js';
export type { ValidityOptions } from './profile.js';
export {
  parseCertificates, spiffeIdFromCertificate, checkSvid, checkSigningCertificate, assertSvid,
  type SvidViolation, type SvidViolationCode,
} from './validate.js';
export { verifyChain, verifyPresented, type VerifyChainOptions, type VerifiedChain } from './verify.js';
export type { Verdict } from './verdicts.js';
export { describePeerCertificate, type PeerCertificateInfo } from './peer.js';
export { parseSvid, loadSvid, type LoadedSvid } from './svid.js';
export { TrustBundle, loadTrustBundle, parseTrustBundle, type TrustAnchor, type TrustBundleOptions } from './trust-bundle.js';
export { writePrivateKeyFile, writePublicFile, type WriteFileOptions } from './files.js';
export type { X509Certificate } from './x509.js';
export type { X509Svid, X509Material, BundleSource, X509Source } from './source/types.js';
export type { HolderX509Source, MaterialCheck } from './source/holder.js';
export { filesX509Source, certsDirSource, certsDirFiles, defaultCertsDir, type X509Files, type FilesSourceOptions } from './source/files.js';
export { StaticX509Source } from './source/static.js';
