/**
 * X.509 sources from files: a `flyme certs` directory (NAME.pem, NAME.key.pem, root-ca.pem, and an optional
 * crl.pem), or explicit paths. The files are watched (and polled) and reloaded on change; a broken set
 * is refused and the previous one stays.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { flymeError } from '../../errors.js';
import { Reloadable } from '../../files/reloadable.js';
import { loadSvid } from '../svid.js';
import { loadTrustBundle } from '../trust-bundle.js';
import { x509 } from '../x509.js';
import { checkMaterial, HolderX509Source } from './holder.js';
import type { X509Material } from './types.js';

/** Where a workload's identity lives on disk. */
export interface X509Files {
  /** PEM: leaf, then intermediates. */
  certPath: string;
  /** PEM PKCS#8 private key matching the leaf. */
  keyPath: string;
  /** Trust bundle files (roots of the trust domains to trust). */
  bundlePaths: readonly string[];
  /** PEM or DER revocation lists (optional; a missing file is no list). */
  crlPaths?: readonly string[];
}

/** Options for {@link filesX509Source}. */
export interface FilesSourceOptions {
  /** Watch and reload on change (default true). */
  watch?: boolean;
  /** Debounce after a change (default 100 ms). */
  debounceMs?: number;
  /** Stat polling backstop (default 2000 ms; 0 disables). */
  pollMs?: number;
  /** Refuse a set whose SVID does not verify against its bundle (default true). */
  verifyOwn?: boolean;
}

/** Where `flyme certs init` writes and FlyMe looks by default: /etc/flyme/certs as root, ~/.config/flyme/certs otherwise. */
export function defaultCertsDir(): string {
  return process.getuid?.() === 0 ? '/etc/flyme/certs' : join(homedir(), '.config', 'flyme', 'certs');
}

/** The files of identity `name` in a `flyme certs` directory. */
export function certsDirFiles(dir: string, name: string): X509Files {
  return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key.pem`), bundlePaths: [join(dir, 'root-ca.pem')], crlPaths: [join(dir, 'crl.pem')] };
}

async function readCrls(paths: readonly string[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const raw = await readFile(path);
    const text = raw.toString('latin1');
    if (text.includes('-----BEGIN')) {
      for (const block of x509.PemConverter.decodeWithHeaders(text)) {
        if (block.type !== 'X509 CRL') throw flymeError('FLYME_INVALID_CONFIG', `${path}: expected X509 CRL blocks, found ${block.type}`, { path });
        out.push(new Uint8Array(block.rawData));
      }
    } else if (raw.length > 0) {
      out.push(new Uint8Array(raw));
    }
  }
  return out;
}

/** Reads and checks one set of files (no watching). */
export async function loadX509Files(f: X509Files, verifyOwn = true): Promise<X509Material> {
  if (f.bundlePaths.length === 0) throw flymeError('FLYME_INVALID_CONFIG', 'TLS needs at least one CA bundle file');
  const svid = await loadSvid(f.certPath, f.keyPath);
  const crls = await readCrls(f.crlPaths ?? []);
  const bundle = await loadTrustBundle(f.bundlePaths, { crls });
  try {
    return await checkMaterial({ svids: [svid], bundle }, { verifyOwn });
  } catch (err) {
    (err as Error).message = `${f.certPath}: ${(err as Error).message}`;
    throw err;
  }
}

/**
 * An X509Source from files, watched and reloaded.
 * @throws FlyMeError FLYME_INVALID_CONFIG / FLYME_INVALID_CERTIFICATE when the first load fails.
 * @example const source = await filesX509Source(certsDirFiles('/etc/flyme/certs', 'server'))
 */
export async function filesX509Source(f: X509Files, o: FilesSourceOptions = {}): Promise<HolderX509Source> {
  const files = { ...f, bundlePaths: [...f.bundlePaths], crlPaths: [...(f.crlPaths ?? [])] };
  const holder = await Reloadable.open<X509Material>(() => loadX509Files(files, o.verifyOwn ?? true), {
    ...(o.watch === false ? {} : { watch: [files.certPath, files.keyPath, ...files.bundlePaths, ...files.crlPaths] }),
    ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    same: (a, b) => a.svids[0]!.certPem === b.svids[0]!.certPem && a.svids[0]!.keyPem === b.svids[0]!.keyPem
      && a.bundle.toPem() === b.bundle.toPem() && a.bundle.crls.length === b.bundle.crls.length
      && a.bundle.crls.every((c, i) => Buffer.from(c.rawData).equals(Buffer.from(b.bundle.crls[i]!.rawData))),
  });
  return new HolderX509Source(holder);
}

/**
 * The X509Source of identity `name` (`server`, `client`, …) in a `flyme certs` directory.
 * @example const source = await certsDirSource('/etc/flyme/certs', 'client')
 */
export function certsDirSource(dir: string, name: string, o: FilesSourceOptions = {}): Promise<HolderX509Source> {
  return filesX509Source(certsDirFiles(dir, name), o);
}
