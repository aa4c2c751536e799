// The package's public surface, subpath by subpath: exactly these runtime names (a new export is a decision,
// made here and in docs/api.md), and every exported name — values and types — documented in docs/api.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const SURFACE: Record<string, string[]> = {
  '.': ['Client', 'FlyMeError', 'connect', 'dialTls'],
  './server': ['DEFAULT_LIMITS', 'PUBLIC_PERMISSIONS', 'Policy', 'RpcServer', 'Type', 'decide', 'describePrincipal', 'publicOnlyAuthorize'],
  './errors': ['ERROR_CATALOG', 'FlyMeError', 'flymeError', 'isFlyMeErrorCode'],
  './wire': [
    'DEFAULT_MAX_FRAME_BYTES', 'ExactNumberId', 'LineDecoder', 'classify', 'encodeError', 'encodeNotification', 'encodeRequest',
    'encodeResult', 'errorFromWire', 'parseFrame',
  ],
  './identity': [
    'MAX_SPIFFE_ID_BYTES', 'MAX_TRUST_DOMAIN_BYTES', 'SpiffeId', 'StaticX509Source', 'TrustBundle', 'assertSvid', 'authorizeAll',
    'authorizeAny', 'authorizeAnyOf', 'authorizeId', 'authorizeMemberOf', 'authorizeOneOf', 'authorizePathPrefix', 'certsDirFiles',
    'certsDirSource', 'checkSigningCertificate', 'checkSvid', 'createCrl', 'createIntermediateCA', 'createRootCA', 'defaultCertsDir',
    'describePeerCertificate', 'exportPrivateKeyPem', 'filesX509Source', 'generateKeyPair', 'importPrivateKeyPem', 'issueSvid',
    'issueSvidWithKey', 'loadCA', 'loadSvid', 'loadTrustBundle', 'parseCA', 'parseCertificates', 'parseSvid', 'parseTrustBundle',
    'parseTrustDomain', 'spiffeIdFromCertificate', 'verifyChain', 'verifyPresented', 'writePrivateKeyFile', 'writePublicFile',
  ],
  './auth': [
    'ADMIN_ROLE', 'ChannelAcl', 'DEFAULT_ALGORITHMS', 'DEFAULT_REPLAY_CACHE_SIZE', 'JwksFileSource', 'MAX_POLICY_BYTES',
    'ONE_TIME_CLAIM', 'PUBLIC_PERMISSIONS', 'Policy', 'PolicyStore', 'REQUIRED_CLAIMS', 'ReplayCache', 'RoleConfig', 'TokenIssuer',
    'TokenVerifier', 'VerificationKeySet', 'certificateThumbprint', 'coalesceSecurityEvents', 'decide', 'describePrincipal',
    'emptyPrincipal', 'fanOutSecurityEvents', 'generateSigningKey', 'ignoreSecurityEvents', 'importSigningKey',
    'limitSecurityEvents', 'parsePolicyText', 'revokeTokenRoles', 'staticKeySource', 'writeKeyFiles',
  ],
  './audit': [
    'AuditLog', 'auditFileSet', 'auditKeyFingerprint', 'defaultAuditDir', 'defaultAuditKeyPath', 'defaultAuditLogPath',
    'loadAuditPublicKey', 'loadOrCreateAuditKey', 'parseFingerprint', 'publicKeyPathFor', 'resolveAuditKey', 'verifyAuditLog',
  ],
  './grpc': [
    'PRINCIPAL_KEY', 'PeerRegistry', 'SecureGrpcClientBuilder', 'SourceCertificateProvider', 'authInterceptor', 'channelCredentials',
    'clientFiles', 'createLocalServer', 'createSecureServer', 'principalOf', 'sourceFromFiles', 'tokenCallCredentials',
  ],
  './redis': [
    'DEFAULT_MAX_MESSAGE_BYTES', 'DEFAULT_PUBLISH_TIMEOUT_MS', 'DEFAULT_WINDOW_SECONDS', 'EnvelopeVerifier', 'MessageRejected', 'SecureRedis',
    'SecureRedisClientBuilder', 'envelopeTokenRoles', 'loadRedisCredentials', 'redisAclUsers', 'sealEnvelope', 'signerFromPem',
    'writeRedisAcl',
  ],
  './spiffe': [
    'ENDPOINT_ENV', 'JWT_SVID_ALGORITHMS', 'JwtBundleSet', 'StaticJwtSource', 'WorkloadApiClient', 'WorkloadX509Source',
    'endpointFrom', 'endpointTarget', 'runAgent', 'validateJwtSvid', 'workloadJwtSource', 'workloadX509Source',
  ],
  './ca': [
    'AgentCaClient', 'Authority', 'CaAdminClient', 'SELECTOR_KINDS', 'caFiles', 'initCaDir', 'loadCaMaterial', 'parseSelector',
    'rotateIntermediate', 'selectorString', 'serveCa',
  ],
};

/** Names that were public once and are internal now (a regression guard). */
const INTERNAL: Record<string, string[]> = {
  './auth': ['writeFileAtomic', 'readJsonFile', 'mapJoseError', 'checkAlgorithms', 'ChannelsSchema', 'COALESCED_KINDS', 'firstCertificateDer', 'thumbprintsEqual'],
  './audit': ['checkLine', 'lineHash', 'GENESIS'],
  './identity': ['checkMaterial', 'loadX509Files', 'HolderX509Source'],
  './grpc': ['InjectingServer'],
  './ca': ['newEntry', 'isAgentId'],
  './spiffe': ['attest', 'materialFromResponse'],
  './wire': ['idText'],
  './redis': ['Subscription'],
};

interface ExportTarget { types: string; default: string }
const exportsMap = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, ExportTarget | string> }).exports;
const subpaths = Object.entries(exportsMap).filter((e): e is [string, ExportTarget] => typeof e[1] === 'object');

/** `flyme`, `flyme/auth`, … as docs/api.md titles them. */
const specifier = (sub: string): string => (sub === '.' ? 'flyme' : `flyme/${sub.slice(2)}`);

/** Every name an index module exports, values and types, read from its source (`export { a, type B } from …`). */
function declaredNames(typesPath: string): string[] {
  const src = resolve(ROOT, typesPath.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));
  const text = readFileSync(src, 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const n = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!;
      if (n) names.push(n);
    }
  }
  for (const m of text.matchAll(/export\s+(?:async\s+)?(?:function|class|const|interface|type)\s+(\w+)/g)) names.push(m[1]!);
  assert.ok(!/export\s+\*/.test(text), `${src} must not use export *`);
  return names;
}

/** The text of docs/api.md's section for one subpath (`## \`flyme/auth\`` up to the next `## `). */
function docSection(doc: string, spec: string): string {
  const start = doc.indexOf(`\n## \`${spec}\`\n`);
  assert.ok(start >= 0, `docs/api.md has a section "## \`${spec}\`"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

test('package.json exports exactly the subpaths this test pins', () => {
  assert.deepEqual(subpaths.map(([s]) => s).sort(), Object.keys(SURFACE).sort());
});

for (const [sub, target] of subpaths) {
  test(`${specifier(sub)} exports exactly its curated runtime names`, async () => {
    const mod = (await import(pathToFileURL(resolve(ROOT, target.default)).href)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mod).sort(), [...(SURFACE[sub] ?? [])].sort());
    for (const name of INTERNAL[sub] ?? []) assert.ok(!(name in mod), `${name} is internal to ${specifier(sub)}`);
  });
}

test('docs/api.md documents every exported name, values and types, under its subpath, with an example', () => {
  const doc = readFileSync(resolve(ROOT, 'docs', 'api.md'), 'utf8');
  const missing: string[] = [];
  for (const [sub, target] of subpaths) {
    const section = docSection(doc, specifier(sub));
    assert.match(section, /```ts\n[\s\S]*?```/, `docs/api.md has an example for ${specifier(sub)}`);
    const names = declaredNames(target.types);
    for (const name of SURFACE[sub] ?? []) assert.ok(names.includes(name), `${name} is found in the index source of ${specifier(sub)}`);
    for (const name of names) if (!section.includes(`- \`${name}\` — `)) missing.push(`${specifier(sub)}: ${name}`);
  }
  assert.deepEqual(missing, [], 'names exported but not listed in docs/api.md');
});
