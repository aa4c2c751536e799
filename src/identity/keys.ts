import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { flymeError } from '../errors.js';
import { x509 } from './x509.js';

/** A WebCrypto key (Node's `crypto.webcrypto.CryptoKey`). */
export type CryptoKey = webcrypto.CryptoKey;
/** A WebCrypto key pair. */
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key algorithms FlyMe issues and loads. */
export type KeyType = 'P-256' | 'Ed25519';

const subtle = globalThis.crypto.subtle;

function importParams(keyType: KeyType): webcrypto.EcKeyImportParams | webcrypto.Algorithm {
  return keyType === 'P-256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
}

/** The signature algorithm a key of this type signs certificates with. */
export function signingAlgorithm(keyType: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keyType === 'P-256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

/**
 * Generates an extractable key pair (extractable so the private key can be written as PKCS#8).
 * @example const keys = await generateKeyPair('Ed25519')
 */
export async function generateKeyPair(keyType: KeyType = 'P-256'): Promise<CryptoKeyPair> {
  if (keyType !== 'P-256' && keyType !== 'Ed25519') throw new TypeError(`unsupported key type ${String(keyType)}`);
  return (await subtle.generateKey(importParams(keyType), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** Key type of a WebCrypto key or of a certificate/CSR public key; throws FLYME_INVALID_CERTIFICATE otherwise. */
export function keyTypeOf(key: CryptoKey | x509.PublicKey): KeyType {
  const alg = key.algorithm as webcrypto.Algorithm & { namedCurve?: string };
  if (alg.name === 'Ed25519') return 'Ed25519';
  if (alg.name === 'ECDSA' && alg.namedCurve === 'P-256') return 'P-256';
  const what = alg.namedCurve ? `${alg.name} ${alg.namedCurve}` : alg.name;
  throw flymeError('FLYME_INVALID_CERTIFICATE', `unsupported key type ${what}: FlyMe supports P-256 and Ed25519`, { keyType: what });
}

/** Exports a private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function nodeKeyType(key: KeyObject): KeyType {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return 'P-256';
  const what = [key.asymmetricKeyType, details.namedCurve].filter(Boolean).join(' ');
  throw flymeError('FLYME_INVALID_CERTIFICATE', `unsupported private key type ${what}: FlyMe supports P-256 and Ed25519`, { keyType: what });
}

/**
 * Loads an unencrypted PKCS#8 (or SEC1 EC) PEM private key and derives its public half.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE when the text is a certificate, corrupt, encrypted, or of an
 *   unsupported type.
 */
export async function importPrivateKeyPem(pem: string): Promise<{ keyPair: CryptoKeyPair; keyType: KeyType }> {
  if (/-----BEGIN CERTIFICATE-----/.test(pem) && !/PRIVATE KEY-----/.test(pem)) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', 'expected a private key but found a certificate');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', `cannot read private key: ${(err as Error).message}`, undefined, err);
  }
  const keyType = nodeKeyType(key);
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const privateKey = await subtle.importKey('pkcs8', pkcs8, importParams(keyType), true, ['sign']);
  const publicKey = await subtle.importKey('spki', spki, importParams(keyType), true, ['verify']);
  return { keyPair: { privateKey, publicKey }, keyType };
}

/** True when `publicKey` is the public half matching the certificate's subject public key (compared as SPKI DER). */
export async function publicKeyMatches(cert: x509.X509Certificate, publicKey: CryptoKey): Promise<boolean> {
  const spki = new Uint8Array(await subtle.exportKey('spki', publicKey));
  return Buffer.from(cert.publicKey.rawData).equals(spki);
}
