/** The daemon's Ed25519 audit key: created 0600 on first start, kept across restarts, public key beside it. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { flymeError } from '../errors.js';
import { writePrivateKeyFile, writePublicFile } from '../identity/files.js';

export interface AuditKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
}

/** `audit-key.pem` → `audit-key.pub.pem`. */
export function publicKeyPathFor(keyPath: string): string {
  return keyPath.endsWith('.pem') ? `${keyPath.slice(0, -4)}.pub.pem` : `${keyPath}.pub.pem`;
}

export async function loadOrCreateAuditKey(keyPath: string): Promise<AuditKey & { created: boolean }> {
  let pem: string | undefined;
  try {
    pem = await readFile(keyPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw flymeError('FLYME_INVALID_CONFIG', `cannot read audit key ${keyPath}: ${(e as NodeJS.ErrnoException).code}`);
  }
  let privateKey: KeyObject;
  let created = false;
  if (pem === undefined) {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    await writePrivateKeyFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    created = true;
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw flymeError('FLYME_INVALID_CONFIG', `audit key ${keyPath} is not a PEM private key`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw flymeError('FLYME_INVALID_CONFIG', `audit key ${keyPath} must be Ed25519, not ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pubPath = publicKeyPathFor(keyPath);
  const existing = await readFile(pubPath, 'utf8').catch(() => undefined);
  if (existing !== publicPem) await writePublicFile(pubPath, publicPem, { force: true });
  return { privateKey, publicKey, publicPem, created };
}

export async function loadAuditPublicKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read audit public key ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch {
    throw flymeError('FLYME_INVALID_CONFIG', `${path} is not an Ed25519 public key (PEM)`);
  }
}
