// An audit log re-signed record by record with ANOTHER Ed25519 key (hash chain recomputed, so only the key
// differs) is refused by `flyme audit-log verify`: when the attacker also replaced audit-key.pub.pem beside
// the log (the old verifier trusted that file and said OK), when only the log was rewritten, and, with the
// daemon's key pinned by --fingerprint or --pubkey, even when the signing key file was replaced too.
// Control: the original log verifies, also against the pinned fingerprint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, tempDir } from '../helpers/daemon.js';

const SIG = /,"sig":"[A-Za-z0-9_-]{86}"\}$/;

/** Every record re-signed with `key`, each `prev` recomputed from the new lines: a consistent forged chain. */
function resign(text: string, key: KeyObject): string {
  let prev = '0'.repeat(64);
  const out: string[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const record = JSON.parse(line.replace(SIG, '}')) as { prev: string };
    record.prev = prev;
    const body = JSON.stringify(record);
    const next = `${body.slice(0, -1)},"sig":"${sign(null, Buffer.from(body), key).toString('base64url')}"}`;
    prev = createHash('sha256').update(next).digest('hex');
    out.push(next);
  }
  return out.join('\n') + '\n';
}

test('a log re-signed with another key is refused; the original verifies (control)', async () => {
  const dir = tempDir();
  const d = await startDaemon([], { dir });
  let status: string;
  try {
    for (const m of ['one', 'two', 'three']) assert.equal((await runCli(['--connect', d.url, 'ping', m])).code, 0);
    status = (await runCli(['--connect', d.url, '--json', 'status'])).stdout;
  } finally {
    await d.stop();
  }
  const audit = join(dir, 'audit');
  const log = join(audit, 'audit.log');
  const pub = join(audit, 'audit-key.pub.pem');
  // The fingerprint an operator records elsewhere: SHA-256 of the daemon's public key (SPKI DER).
  const fingerprint = `sha256:${createHash('sha256').update(createPublicKey(readFileSync(pub, 'utf8')).export({ type: 'spki', format: 'der' })).digest('hex')}`;
  const keptPub = join(dir, 'kept-elsewhere.pub.pem');
  copyFileSync(pub, keptPub);
  const verify = async (...a: string[]) => {
    const r = await runCli(['audit-log', 'verify', log, ...a]);
    return { code: r.code, out: r.stdout + r.stderr };
  };

  const original = readFileSync(log, 'utf8');
  const signingKey = join(audit, 'audit-key.pem');
  const originalKey = readFileSync(signingKey, 'utf8');
  const ok = await verify();
  assert.equal(ok.code, 0, ok.out);

  const attacker = generateKeyPairSync('ed25519');
  const forged = resign(original, attacker.privateKey);
  assert.notEqual(forged, original);
  const attackerPub = attacker.publicKey.export({ type: 'spki', format: 'pem' }) as string;

  // Only the log rewritten: the daemon's public key beside it refuses the first record.
  writeFileSync(log, forged);
  const onlyLog = await verify();
  assert.equal(onlyLog.code, 1, onlyLog.out);
  assert.match(onlyLog.out, /BAD: .*audit\.log:1 \(seq 1\): bad signature/);

  // The attacker's public key put beside the log as well: refused because the daemon's signing key disagrees.
  writeFileSync(pub, attackerPub);
  const withPub = await verify();
  assert.equal(withPub.code, 1, withPub.out);
  assert.match(withPub.out, /BAD: key: .*audit-key\.pub\.pem .* is not the public key of the daemon's signing key/);

  // Signing key replaced too: only a pin kept elsewhere tells, and it does.
  writeFileSync(signingKey, attacker.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const pinned = await verify('--fingerprint', fingerprint);
  assert.equal(pinned.code, 1, pinned.out);
  assert.match(pinned.out, new RegExp(`BAD: key: .* is sha256:[0-9a-f]{64}, not the pinned ${fingerprint}`));
  const kept = await verify('--pubkey', keptPub);
  assert.equal(kept.code, 1, kept.out);
  assert.match(kept.out, /bad signature/);

  // Controls: the original files verify, pinned either way; status shows the fingerprint to record.
  writeFileSync(log, original);
  writeFileSync(signingKey, originalKey, { mode: 0o600 });
  writeFileSync(pub, readFileSync(keptPub, 'utf8'));
  assert.equal((await verify('--pubkey', keptPub)).code, 0, 'control: the original log against the kept public key');
  const pinnedOk = await verify('--fingerprint', fingerprint);
  assert.equal(pinnedOk.code, 0, pinnedOk.out);
  assert.match(pinnedOk.out, new RegExp(`key: ${fingerprint} .*pinned by --fingerprint`));
  assert.equal(JSON.parse(status).audit.keyFingerprint, fingerprint, 'flyme status shows the fingerprint to record');
});
