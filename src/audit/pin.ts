/**
 * Which public key an audit log is verified against. A log and the `audit-key.pub.pem` beside it live in the
 * same directory: whoever can rewrite the log (re-signing every record with a key of their own and
 * recomputing the hash chain) can usually replace that file too, and the pair then verifies. So the key
 * must be pinned by something the log's writer does not control:
 * - `fingerprint`: the SHA-256 of the key (shown by `flyme status --json` → `audit.keyFingerprint`, by
 *   flymed's start log and by every `verify`), recorded elsewhere when the daemon was installed;
 * - `pubkey`: a copy of the public key kept elsewhere;
 * - `signing-key`: the daemon's private key (`audit-key.pem`, readable by root): the key it signs with, and
 *   the public file beside must match it;
 * - `none`: only the public file beside the log could be read (not root): reported as unpinned.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadAuditPublicKey } from './key.js';

export type AuditKeyPin = 'fingerprint' | 'pubkey' | 'signing-key' | 'none';

export interface ResolvedAuditKey {
  /** The key to verify with (present when `problem` is not). */
  key?: KeyObject;
  fingerprint?: string;
  /** Where the key came from (a path). */
  from: string;
  pin: AuditKeyPin;
  /** Why verification must fail before reading a record (the key is not the pinned one). */
  problem?: string;
}

/** `sha256:<hex>` of the key's SubjectPublicKeyInfo (DER). */
export function auditKeyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** Accepts `sha256:<hex>` or the bare 64 hex digits, any case. */
export function parseFingerprint(v: string): string | undefined {
  const m = /^(?:sha256:)?([0-9a-f]{64})$/i.exec(v.trim());
  return m ? `sha256:${m[1]!.toLowerCase()}` : undefined;
}

export interface ResolveOptions {
  /** The public key file: given by the operator (`explicit`), or the one beside the log. */
  pubkeyPath: string;
  explicit: boolean;
  /** The daemon's signing key (`audit-key.pem`); used when readable and no explicit pubkey is given. */
  signingKeyPath?: string;
  /** Expected fingerprint (`parseFingerprint` form). */
  fingerprint?: string;
}

async function signingPublicKey(path: string): Promise<KeyObject | undefined> {
  const pem = await readFile(path, 'utf8').catch(() => undefined);
  if (pem === undefined) return undefined;
  try {
    const k = createPrivateKey(pem);
    return k.asymmetricKeyType === 'ed25519' ? createPublicKey(k) : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveAuditKey(o: ResolveOptions): Promise<ResolvedAuditKey> {
  const pub = await loadAuditPublicKey(o.pubkeyPath);
  const pubPrint = auditKeyFingerprint(pub);
  let key = pub;
  let from = o.pubkeyPath;
  let pin: AuditKeyPin = o.explicit ? 'pubkey' : 'none';
  if (!o.explicit && o.signingKeyPath) {
    const signing = await signingPublicKey(o.signingKeyPath);
    if (signing) {
      const print = auditKeyFingerprint(signing);
      if (print !== pubPrint) {
        return { from: o.pubkeyPath, pin: 'signing-key', fingerprint: pubPrint, problem: `${o.pubkeyPath} (${pubPrint}) is not the public key of the daemon's signing key ${o.signingKeyPath} (${print}): it was replaced; verify with --fingerprint or --pubkey from a copy kept elsewhere` };
      }
      key = signing;
      from = o.signingKeyPath;
      pin = 'signing-key';
    }
  }
  const fingerprint = auditKeyFingerprint(key);
  if (o.fingerprint !== undefined) {
    if (fingerprint !== o.fingerprint) return { from, pin: 'fingerprint', fingerprint, problem: `the key in ${from} is ${fingerprint}, not the pinned ${o.fingerprint}: the log cannot be from the daemon whose key was pinned` };
    pin = 'fingerprint';
  }
  return { key, fingerprint, from, pin };
}
