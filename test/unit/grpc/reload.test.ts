// Server certificates rotate without a restart: after a reload of the identity source new connections get the
// new certificate; a broken file set is refused and the old certificate keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { createSecureServer } from '../../../src/grpc/index.js';
import { FlyMeError } from '../../../src/errors.js';
import { addServices, makeBed } from './fixture.js';

test('grpc server certificate reload', async () => {
  const bed = await makeBed();
  const s = await createSecureServer({ identity: bed.files('greeter'), methods: {} });
  addServices(s.server);
  const sock = join(bed.dir, 'r.sock');
  await s.bind(`unix://${sock}`);
  const f = bed.files('client');
  const serial = () => new Promise<string>((resolve, reject) => {
    const c = connect({ path: sock, cert: readFileSync(f.certPath), key: readFileSync(f.keyPath), ca: readFileSync(f.caPath), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
    c.once('secureConnect', () => { resolve(c.getPeerCertificate().serialNumber); c.destroy(); });
    c.once('error', reject);
  });
  try {
    const before = await serial();
    // Control of "kept": garbage is refused, the old certificate still serves.
    writeFileSync(join(bed.dir, 'greeter.pem'), 'not a certificate');
    await assert.rejects(s.source.reload!(), (e: unknown) => e instanceof FlyMeError);
    assert.equal(await serial(), before);
    // Rotate: the stranger identity's files stand in for a renewed certificate.
    writeFileSync(join(bed.dir, 'greeter.pem'), readFileSync(join(bed.dir, 'stranger.pem')));
    writeFileSync(join(bed.dir, 'greeter.key.pem'), readFileSync(join(bed.dir, 'stranger.key.pem')));
    await s.source.reload!();
    const after = await serial();
    assert.notEqual(after, before);
    assert.equal(s.source.svid().spiffeId.toString(), 'spiffe://flyme.local/stranger');
  } finally {
    await s.shutdown();
    bed.cleanup();
  }
});
