import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRootCA, issueSvidWithKey, loadTrustBundle, parseTrustBundle, verifyChain } from '../../../src/identity/index.js';
import { badCert, rejectsWith, tempDir } from './fixtures.js';

test('a bundle holds several roots (rotation), deduplicated, chosen by trust domain', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const oldRoot = await createRootCA({ trustDomain: 'td' });
    const newRoot = await createRootCA({ trustDomain: 'td' });
    const other = await createRootCA({ trustDomain: 'other' });
    writeFileSync(join(dir, 'old.pem'), oldRoot.certPem);
    writeFileSync(join(dir, 'both.pem'), oldRoot.certPem + newRoot.certPem);
    const bundle = await loadTrustBundle([join(dir, 'old.pem'), join(dir, 'both.pem'), other.certPem]);
    assert.equal(bundle.roots.length, 3);
    assert.deepEqual(bundle.trustDomains.sort(), ['other', 'td']);
    assert.equal(bundle.rootsFor('td').length, 2);
    assert.equal(bundle.rootsFor('nope').length, 0);
    assert.equal((bundle.toPem().match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
    for (const root of [oldRoot, newRoot]) {
      const leaf = await issueSvidWithKey(root, { spiffeId: 'spiffe://td/x' });
      await verifyChain(leaf.cert, [], bundle);
    }
  } finally {
    cleanup();
  }
});

test('empty, not-PEM, corrupt, key-only, non-CA and unreadable bundles are errors, never an empty trust set', async () => {
  const root = await createRootCA({ trustDomain: 'td' });
  const leaf = await issueSvidWithKey(root, { spiffeId: 'spiffe://td/x' });
  await rejectsWith(() => parseTrustBundle(''), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseTrustBundle('hello'), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseTrustBundle(root.certPem.replace(/\n[A-Za-z0-9+/]{16}/, '\n!!!!')), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseTrustBundle(root.keyPem), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => parseTrustBundle(leaf.certPem), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => loadTrustBundle([]), 'FLYME_INVALID_CERTIFICATE');
  await rejectsWith(() => loadTrustBundle('/nonexistent/flyme-root.pem'), 'FLYME_INVALID_CONFIG');
  const noCa = await badCert(root, 'wrong-intermediate-no-ca');
  await rejectsWith(() => parseTrustBundle(noCa.cert.toString('pem')), 'FLYME_INVALID_CERTIFICATE');
});

test('a root for another trust domain is refused when the bundle names its trust domain', async () => {
  const other = await createRootCA({ trustDomain: 'other' });
  const e = await rejectsWith(() => parseTrustBundle(other.certPem, { trustDomain: 'td' }), 'FLYME_INVALID_CERTIFICATE');
  assert.match(e.message, /trust domain other, not td/);
});
