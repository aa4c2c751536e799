import { readFile } from 'node:fs/promises';
import { flymeError } from '../errors.js';
import { importPrivateKeyPem, publicKeyMatches, type CryptoKeyPair, type KeyType } from './keys.js';
import type { SpiffeId } from './spiffe-id.js';
import { assertSvid, parseCertificates } from './validate.js';
import type { X509Certificate } from './x509.js';

/** An X.509-SVID with its private key, checked and ready to hand to `node:tls` (`cert: certPem, key: keyPem`). */
export interface LoadedSvid {
  spiffeId: SpiffeId;
  /** Leaf first, then intermediates. */
  chain: X509Certificate[];
  key: CryptoKeyPair;
  keyType: KeyType;
  certPem: string;
  keyPem: string;
}

/**
 * Checks an SVID and its key given as PEM: the first certificate must follow the X.509-SVID rules and match
 * the private key (PKCS#8 P-256 or Ed25519). Fails closed at startup instead of at the first handshake.
 * @throws FlyMeError FLYME_INVALID_CERTIFICATE (not a certificate, a key given as the cert, SVID rule broken,
 *   "leaf certificate does not match private key").
 */
export async function parseSvid(certPem: string, keyPem: string): Promise<LoadedSvid> {
  const chain = parseCertificates(certPem);
  const spiffeId = assertSvid(chain[0]!);
  const { keyPair, keyType } = await importPrivateKeyPem(keyPem);
  if (!(await publicKeyMatches(chain[0]!, keyPair.publicKey))) {
    throw flymeError('FLYME_INVALID_CERTIFICATE', 'leaf certificate does not match private key', { rule: 'key-mismatch' });
  }
  return { spiffeId, chain, key: keyPair, keyType, certPem, keyPem };
}

/**
 * Reads and checks an SVID from a certificate file and a key file (see {@link parseSvid}).
 * @example const svid = await loadSvid('server.pem', 'server.key.pem')
 */
export async function loadSvid(certPath: string, keyPath: string): Promise<LoadedSvid> {
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path }, err);
    }
  };
  try {
    return await parseSvid(await read(certPath), await read(keyPath));
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code === 'FLYME_INVALID_CERTIFICATE') err.message = `${certPath}: ${err.message}`;
    throw err;
  }
}
