/**
 * The CA's key material in its data directory: a persistent root (its key may be kept offline), the
 * intermediate that signs now, retired intermediates (kept to sign revocation lists for what they issued),
 * and the ES256 key that signs JWT-SVIDs.
 *
 *   root-ca.pem  root-ca.key.pem (optional: offline)  intermediate.pem  intermediate.key.pem
 *   intermediates/<serial>.pem  intermediates/<serial>.key.pem  jwt-key.json  state.json
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { generateSigningKey, importSigningKey, type SigningKey } from '../auth/jwt/signing-key.js';
import { flymeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { emptyState, saveState } from './state.js';
import { createIntermediateCA, createRootCA, parseCA, type CertificateAuthority } from '../identity/ca.js';
import type { KeyType } from '../identity/keys.js';
import { BACKDATE_MS } from '../identity/profile.js';
import { parseCertificates } from '../identity/validate.js';
import type { X509Certificate } from '../identity/x509.js';

export interface CaMaterial {
  trustDomain: string;
  root: X509Certificate;
  /** Present when the root key is on this machine (the CA can then rotate its intermediate itself). */
  rootCa?: CertificateAuthority;
  /** Signs SVIDs now. */
  intermediate: CertificateAuthority;
  /** Retired intermediates whose certificates may still be valid. */
  retired: CertificateAuthority[];
  jwt: { key: SigningKey; publicJwk: JWK };
}

export const caFiles = (dir: string) => ({
  root: join(dir, 'root-ca.pem'),
  rootKey: join(dir, 'root-ca.key.pem'),
  intermediate: join(dir, 'intermediate.pem'),
  intermediateKey: join(dir, 'intermediate.key.pem'),
  retired: join(dir, 'intermediates'),
  jwtKey: join(dir, 'jwt-key.json'),
  state: join(dir, 'state.json'),
});

const HOUR = 3_600_000;

export interface InitOptions {
  trustDomain: string;
  keyType?: KeyType;
  rootDays?: number;
  intermediateHours?: number;
}

/**
 * Creates the data directory (0700) with a new root, intermediate and JWT key.
 * @throws FlyMeError FLYME_FILE_EXISTS when a CA is already there (a CA is never replaced silently).
 */
export async function initCaDir(dir: string, o: InitOptions): Promise<void> {
  const f = caFiles(dir);
  if (existsSync(f.root)) throw flymeError('FLYME_FILE_EXISTS', `${dir} already holds a CA (root-ca.pem); it is never replaced`, { path: f.root });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const root = await createRootCA({ trustDomain: o.trustDomain, days: o.rootDays ?? 3650, keyType: o.keyType ?? 'P-256' });
  const mid = await createIntermediateCA(root, { ttlSeconds: (o.intermediateHours ?? 168) * 3600 });
  const jwt = await generateSigningKey('ES256', randomBytes(8).toString('hex'));
  await writeFileAtomic(f.rootKey, root.keyPem, { mode: 0o600 });
  await writeFileAtomic(f.intermediateKey, mid.keyPem, { mode: 0o600 });
  await writeFileAtomic(f.intermediate, mid.certPem, { mode: 0o644 });
  await writeFileAtomic(f.jwtKey, `${JSON.stringify({ private: jwt.privateJwk, public: jwt.publicJwk })}\n`, { mode: 0o600 });
  await saveState(f.state, emptyState(o.trustDomain));
  await writeFileAtomic(f.root, root.certPem, { mode: 0o644 }); // last: its presence marks a complete CA
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`, { path }, err);
  }
}

/** Problems with the directory itself: too open, leftovers of an interrupted write (removed). */
export function tidyCaDir(dir: string): string[] {
  const notes: string[] = [];
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o077) notes.push(`${dir} has mode 0${mode.toString(8)}: make it 0700 (the keys inside are 0600, but their names and the state are visible)`);
  for (const name of readdirSync(dir)) {
    if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(name)) {
      rmSync(join(dir, name), { force: true });
      notes.push(`removed ${name}, left by an interrupted write`);
    }
  }
  return notes;
}

/** Loads the material; the intermediate must be signed by the root. */
export async function loadCaMaterial(dir: string): Promise<CaMaterial> {
  const f = caFiles(dir);
  if (!existsSync(f.root)) throw flymeError('FLYME_INVALID_CONFIG', `${dir} holds no CA: run flyme ca init --data-dir ${dir} --trust-domain TD`, { path: dir });
  const rootPem = read(f.root);
  const [root] = parseCertificates(rootPem);
  const rootCa = existsSync(f.rootKey) ? await parseCA(rootPem, read(f.rootKey)) : undefined;
  const intermediate = await parseCA(read(f.intermediate), read(f.intermediateKey));
  if (!(await intermediate.cert.verify({ publicKey: root!.publicKey, signatureOnly: true }))) {
    throw flymeError('FLYME_INVALID_CONFIG', `${f.intermediate} is not signed by ${f.root}`, { path: f.intermediate });
  }
  const retired: CertificateAuthority[] = [];
  if (existsSync(f.retired)) {
    for (const name of readdirSync(f.retired).filter((n) => n.endsWith('.pem') && !n.endsWith('.key.pem')).sort()) {
      const ca = await parseCA(read(join(f.retired, name)), read(join(f.retired, name.replace(/\.pem$/, '.key.pem'))));
      if (ca.cert.notAfter.getTime() > Date.now()) retired.push(ca);
    }
  }
  const jwtFile = JSON.parse(read(f.jwtKey)) as { private: unknown; public: JWK };
  return { trustDomain: intermediate.trustDomain, root: root!, ...(rootCa ? { rootCa } : {}), intermediate, retired, jwt: { key: await importSigningKey(jwtFile.private), publicJwk: jwtFile.public } };
}

/**
 * Retires the current intermediate and installs a new one signed by `root` (online, or the offline key given
 * to `flyme ca rotate-intermediate`). Files are replaced atomically; the running CA reloads them.
 */
export async function rotateIntermediate(dir: string, root: CertificateAuthority, hours = 168): Promise<CertificateAuthority> {
  const f = caFiles(dir);
  const current = await parseCA(read(f.intermediate), read(f.intermediateKey));
  const next = await createIntermediateCA(root, { ttlSeconds: hours * 3600 });
  await mkdir(f.retired, { recursive: true, mode: 0o700 });
  const serial = current.cert.serialNumber.toLowerCase();
  await writeFileAtomic(join(f.retired, `${serial}.key.pem`), current.keyPem, { mode: 0o600, overwrite: true });
  await writeFileAtomic(join(f.retired, `${serial}.pem`), current.certPem, { mode: 0o644, overwrite: true });
  await writeFileAtomic(join(f.intermediate + '.next'), next.certPem, { mode: 0o644, overwrite: true });
  await writeFileAtomic(f.intermediateKey, next.keyPem, { mode: 0o600, overwrite: true });
  await rename(join(f.intermediate + '.next'), f.intermediate);
  return next;
}

/**
 * True when `ca` is past two thirds of its lifetime at `now` (time to rotate). Its life is counted from
 * issuance: notBefore is backdated for clock skew (BACKDATE_MS), which is not life to use up.
 */
export function dueForRotation(ca: CertificateAuthority, now = Date.now()): boolean {
  const start = ca.cert.notBefore.getTime() + BACKDATE_MS;
  const end = ca.cert.notAfter.getTime();
  return now >= start + ((end - start) * 2) / 3 || (end - start > HOUR && end - now < HOUR / 6);
}
