/**
 * `flyme certs init | issue | inspect`: a private CA for a trust domain, X.509-SVIDs signed by it, and a
 * readable report of any certificate file. Thin wrappers over src/identity.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { FlyMeError, flymeError } from '../errors.js';
import {
  checkSigningCertificate, checkSvid, createRootCA, issueSvidWithKey, loadCA, parseCertificates, parseTrustDomain,
  SpiffeId, writePrivateKeyFile, writePublicFile, type CertificateAuthority, type X509Certificate,
} from '../identity/index.js';
import { readBasicConstraints, readDnsSans, readUriSans } from '../identity/cert-fields.js';
import { defaultCertsDir } from '../identity/source/files.js';

/** Where the certs commands write (tests capture it). */
export interface CertsCliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CertsCliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Default certificate directory: /etc/flyme/certs for root, ~/.config/flyme/certs otherwise. */
export { defaultCertsDir };

function positiveDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new InvalidArgumentError('expected a whole number of days between 1 and 36500');
  return n;
}

async function run(io: CertsCliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (err instanceof FlyMeError || (typeof errno === 'string' && errno.startsWith('E'))) {
      io.err(`flyme: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

async function writePair(io: CertsCliIo, prefix: string, certPem: string, keyPem: string, force: boolean): Promise<void> {
  await writePublicFile(`${prefix}.pem`, certPem, { force, dirMode: 0o700 });
  await writePrivateKeyFile(`${prefix}.key.pem`, keyPem, { force });
  io.out(`wrote ${prefix}.pem (0644)\nwrote ${prefix}.key.pem (0600)\n`);
}

const keyTypeOption = (): Option<'--key-type <type>', undefined, 'P-256', 'P-256' | 'Ed25519', false, undefined> =>
  new Option('--key-type <type>', 'key algorithm of the new keys').choices(['P-256', 'Ed25519'] as const).default('P-256' as const);

/** Summary of one certificate for `certs inspect`. */
function describe(cert: X509Certificate, now: Date): Record<string, unknown> {
  const bc = readBasicConstraints(cert);
  const violations = bc.ca ? checkSigningCertificate(cert) : checkSvid(cert);
  const alg = cert.publicKey.algorithm as { name: string; namedCurve?: string };
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    spiffeId: readUriSans(cert).uris.join(', ') || null,
    dnsNames: readDnsSans(cert),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    expired: now > cert.notAfter,
    notYetValid: now < cert.notBefore,
    keyType: alg.namedCurve === 'P-256' ? 'P-256' : alg.namedCurve ? `${alg.name} ${alg.namedCurve}` : alg.name,
    isCA: bc.ca,
    violations,
  };
}

function printText(io: CertsCliIo, file: string, entries: Record<string, unknown>[]): void {
  entries.forEach((e, i) => {
    const violations = e['violations'] as { code: string; message: string }[];
    io.out(`${file}${entries.length > 1 ? ` [${i + 1}/${entries.length}]` : ''}\n`);
    io.out(`  subject:     ${String(e['subject']) || '(empty)'}\n  issuer:      ${String(e['issuer'])}\n`);
    io.out(`  SPIFFE ID:   ${String(e['spiffeId'] ?? '(none)')}\n`);
    if ((e['dnsNames'] as string[]).length > 0) io.out(`  DNS names:   ${(e['dnsNames'] as string[]).join(', ')}\n`);
    const state = e['expired'] ? 'EXPIRED' : e['notYetValid'] ? 'NOT YET VALID' : 'valid';
    io.out(`  validity:    ${String(e['notBefore'])} .. ${String(e['notAfter'])} (${state})\n`);
    io.out(`  serial:      ${String(e['serial'])}\n  key type:    ${String(e['keyType'])}\n  CA:          ${e['isCA'] ? 'yes' : 'no'}\n`);
    io.out(violations.length === 0 ? '  SVID rules:  ok\n' : `  SVID rules:  ${violations.length} violation(s)\n`);
    for (const v of violations) io.out(`    - ${v.code}: ${v.message}\n`);
  });
}

/**
 * The `certs` command group. On a FlyMeError it prints `flyme: <message>` to stderr and sets
 * `process.exitCode = 1`.
 *
 * @example
 * program.addCommand(certsCommand())
 * // flyme certs init --dir ./certs --trust-domain flyme.local
 * // flyme certs issue --ca ./certs --spiffe-id spiffe://flyme.local/worker --out ./certs/worker
 * // flyme certs inspect ./certs/worker.pem --json
 */
/** `json()` reads flyme's global --json (which commander gives the program even after the subcommand). */
export function certsCommand(io: CertsCliIo = processIo, json: () => boolean = () => false): Command {
  const certs = new Command('certs').description('create a private CA and X.509-SVID certificates, and inspect certificate files');

  certs
    .command('init')
    .description('create a root CA, a server SVID (spiffe://TD/flymed, DNS localhost) and a client SVID in DIR')
    .option('--dir <dir>', 'output directory, created 0700 if missing (default: /etc/flyme/certs as root, else ~/.config/flyme/certs)')
    .option('--trust-domain <name>', 'trust domain of the CA and of both certificates', 'flyme.local')
    .option('--days <n>', 'lifetime of every certificate in days', positiveDays, 365)
    .option('--client-id <id>', 'SPIFFE ID of the client certificate (default: spiffe://TD/client)')
    .addOption(keyTypeOption())
    .option('--force', 'overwrite existing files', false)
    .action((opts) =>
      run(io, async () => {
        const dir = opts.dir ?? defaultCertsDir();
        const td = parseTrustDomain(opts.trustDomain);
        const clientId = SpiffeId.parse(opts.clientId ?? `spiffe://${td}/client`);
        if (!clientId.memberOf(td)) {
          throw flymeError('FLYME_INVALID_SPIFFE_ID', `--client-id ${clientId.toString()} is not in trust domain ${td}`, { rule: 'foreign-trust-domain' });
        }
        const names = ['root-ca', 'server', 'client'];
        if (!opts.force) {
          const present = [];
          for (const n of names) for (const f of [`${n}.pem`, `${n}.key.pem`]) if (await readFile(join(dir, f)).then(() => true, () => false)) present.push(join(dir, f));
          if (present.length > 0) throw flymeError('FLYME_FILE_EXISTS', `refusing to overwrite ${present.join(', ')}; use --force to replace them`, { path: present[0] });
        }
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const ca = await createRootCA({ trustDomain: td, keyType: opts.keyType, days: opts.days });
        const server = await issueSvidWithKey(ca, { spiffeId: `spiffe://${td}/flymed`, dnsNames: ['localhost'], days: opts.days, keyType: opts.keyType });
        const client = await issueSvidWithKey(ca, { spiffeId: clientId, days: opts.days, keyType: opts.keyType });
        await writePair(io, join(dir, 'root-ca'), ca.certPem, ca.keyPem, opts.force);
        await writePair(io, join(dir, 'server'), server.chainPem, server.keyPem, opts.force);
        await writePair(io, join(dir, 'client'), client.chainPem, client.keyPem, opts.force);
        io.out(`trust domain ${td}: server ${server.spiffeId.toString()}, client ${client.spiffeId.toString()}\n`);
        io.out(`keep ${join(dir, 'root-ca.key.pem')} offline if you can; it signs every identity in ${td}\n`);
      }),
    );

  certs
    .command('issue')
    .description("issue an X.509-SVID signed by the CA in DIR (root-ca.pem + root-ca.key.pem) for an ID in the CA's trust domain")
    .requiredOption('--ca <dir>', 'directory holding root-ca.pem and root-ca.key.pem')
    .requiredOption('--spiffe-id <id>', "SPIFFE ID of the new certificate, e.g. spiffe://flyme.local/worker (must be in the CA's trust domain)")
    .requiredOption('--out <prefix>', 'output path prefix: writes PREFIX.pem (0644) and PREFIX.key.pem (0600)')
    .option('--dns <name...>', 'DNS name(s) to add as DNS SANs')
    .option('--days <n>', "lifetime in days (never beyond the CA's notAfter)", positiveDays, 365)
    .addOption(keyTypeOption())
    .option('--force', 'overwrite existing files', false)
    .action((opts) =>
      run(io, async () => {
        const ca: CertificateAuthority = await loadCA(opts.ca);
        const svid = await issueSvidWithKey(ca, { spiffeId: opts.spiffeId, dnsNames: opts.dns ?? [], days: opts.days, keyType: opts.keyType });
        await mkdir(dirname(opts.out), { recursive: true, mode: 0o700 });
        await writePair(io, opts.out, svid.chainPem, svid.keyPem, opts.force);
        io.out(`issued ${svid.spiffeId.toString()} (serial ${svid.cert.serialNumber.toLowerCase()}, expires ${svid.cert.notAfter.toISOString()})\n`);
      }),
    );

  certs
    .command('inspect')
    .description('show subject, SPIFFE ID, validity, serial, key type, CA flag and X.509-SVID rule violations; exit code 1 on any violation')
    .argument('<file>', 'PEM (or DER) certificate file; every certificate in it is inspected')
    .option('--json', 'print JSON instead of text', false)
    .action((file, opts) =>
      run(io, async () => {
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (err) {
          throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: file }, err);
        }
        let certsIn: X509Certificate[];
        try {
          certsIn = parseCertificates(new Uint8Array(bytes));
        } catch (err) {
          throw err instanceof FlyMeError ? flymeError(err.code, `${file}: ${err.message}`, err.data, err) : err;
        }
        const entries = certsIn.map((c) => describe(c, new Date()));
        if (opts.json || json()) io.out(`${JSON.stringify(entries, null, 2)}\n`);
        else printText(io, file, entries);
        if (entries.some((e) => (e['violations'] as unknown[]).length > 0)) process.exitCode = 1;
      }),
    );

  return certs;
}
