/** `flyme audit-log verify|tail`: check and read the daemon's signed audit log (docs/audit.md). */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { open, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { auditFileSet, defaultAuditKeyPath, defaultAuditLogPath, parseFingerprint, publicKeyPathFor, resolveAuditKey, verifyAuditLog, type AuditKeyPin } from '../audit/index.js';
import { flymeError } from '../errors.js';
import { printable } from './format.js';

const count = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a positive integer');
  return Number(v);
};

const fingerprintArg = (v: string) => {
  const f = parseFingerprint(v);
  if (!f) throw new InvalidArgumentError('expected sha256:<64 hex digits> (flyme status --json: audit.keyFingerprint)');
  return f;
};

const PIN_NOTE: Record<AuditKeyPin, string> = {
  fingerprint: 'pinned by --fingerprint',
  pubkey: 'pinned by --pubkey',
  'signing-key': "the daemon's signing key; compare this fingerprint with one recorded elsewhere, or pass --fingerprint",
  none: 'NOT PINNED: only the public key file beside the log was readable; an attacker who rewrote the log can replace it too: pass --fingerprint or --pubkey',
};

function human(line: string): string {
  try {
    const r = JSON.parse(line) as Record<string, any>;
    const who = r.principal?.cert?.spiffeId ?? (r.principal?.peer ? `uid=${r.principal.peer.uid}` : '-');
    return printable(`${r.seq} ${r.time} ${String(r.severity).padEnd(8)} ${r.kind}${r.subject ? ` ${r.subject}` : ''} by ${who}${r.decision ? ` ${r.decision}` : ''}: ${r.message}`);
  } catch {
    return printable(`(unparsable) ${line}`);
  }
}

export function auditLogCommand(json: () => boolean): Command {
  const cmd = new Command('audit-log').description("verify or read flymed's signed audit log");
  cmd.command('verify').description('check signatures and the hash chain across rotated files, against a pinned key; prints OK or the first bad record (exit 1)')
    .argument('[file]', `audit log (default ${defaultAuditLogPath()})`)
    .option('--fingerprint <sha256>', "the daemon's audit key fingerprint, recorded elsewhere (flyme status --json: audit.keyFingerprint); the log must be signed by that key", fingerprintArg)
    .option('--pubkey <file>', `a copy of the audit public key kept elsewhere (default: the daemon's signing key audit-key.pem beside FILE when readable, checked against audit-key.pub.pem; else audit-key.pub.pem alone, unpinned; without FILE: ${publicKeyPathFor(defaultAuditKeyPath())})`)
    .addHelpText('after', '\nA log re-signed with another key verifies against the public key file an attacker put beside it: pin the key with --fingerprint or --pubkey (or run as root so the signing key is read).')
    .action(async (file, o) => {
      const path = file ?? defaultAuditLogPath();
      const files = auditFileSet(path);
      if (files.length === 0) throw flymeError('FLYME_NOT_FOUND', `no audit log at ${path}`);
      const fingerprint = o.fingerprint;
      const pubkeyPath = o.pubkey ?? (file ? join(dirname(file), 'audit-key.pub.pem') : publicKeyPathFor(defaultAuditKeyPath()));
      const signingKeyPath = o.pubkey ? undefined : (file ? join(dirname(file), 'audit-key.pem') : defaultAuditKeyPath());
      const k = await resolveAuditKey({ pubkeyPath, explicit: o.pubkey !== undefined, ...(signingKeyPath ? { signingKeyPath } : {}), ...(fingerprint ? { fingerprint } : {}) }).catch((e: unknown) => {
        // A log copied elsewhere has no key beside it: say which flag brings one.
        if (o.pubkey === undefined && !existsSync(pubkeyPath)) {
          throw flymeError('FLYME_INVALID_CONFIG', `no audit public key at ${pubkeyPath}${file ? ' (a copied log?)' : ''}: pass --pubkey FILE, a copy of the daemon's audit-key.pub.pem (${publicKeyPathFor(defaultAuditKeyPath())} on the daemon's host), and pin it with --fingerprint sha256:… from flyme status --json`, { path: pubkeyPath }, e);
        }
        throw e;
      });
      const keyInfo = { from: k.from, pin: k.pin, fingerprint: k.fingerprint };
      if (k.problem) {
        if (json()) process.stdout.write(JSON.stringify({ ok: false, files, records: 0, key: keyInfo, bad: { file: k.from, line: 0, reason: k.problem } }) + '\n');
        else process.stdout.write(`BAD: key: ${k.problem}\n`);
        process.exitCode = 1;
        return;
      }
      const r = await verifyAuditLog(files, k.key!);
      if (json()) process.stdout.write(JSON.stringify({ ...r, key: keyInfo }) + '\n');
      else if (r.ok) {
        process.stdout.write(`OK: ${r.records} records in ${files.length} file(s), seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}, last hash ${r.lastHash ?? '-'}\n`
          + `key: ${k.fingerprint} from ${k.from} (${PIN_NOTE[k.pin]})\n`
          + (r.startsMidChain ? 'note: the set starts mid-chain (older files were rotated away); its first record is not anchored\n' : '')
          + 'note: records cut off after the last one cannot be detected without a copy of the last hash kept elsewhere\n');
      } else {
        const b = r.bad!;
        process.stdout.write(`BAD: ${b.file}:${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ''}: ${b.reason}\n`);
      }
      if (!r.ok) process.exitCode = 1;
    });
  cmd.command('tail').description('print the newest records')
    .argument('[file]', `audit log (default ${defaultAuditLogPath()})`)
    .option('-n, --lines <n>', 'how many records', count, 20)
    .option('-f, --follow', 'keep printing new records as they are written (Ctrl-C to stop)')
    .action(async (file, o) => {
      const path = file ?? defaultAuditLogPath();
      const print = (line: string) => process.stdout.write((json() ? line : human(line)) + '\n');
      const size = await stat(path).then((s) => s.size, () => { throw flymeError('FLYME_NOT_FOUND', `no audit log at ${path}`); });
      const fh = await open(path, 'r');
      const start = Math.max(0, size - 1024 * 1024);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      await fh.close();
      const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
      if (start > 0) lines.shift();
      lines.slice(-o.lines).forEach(print);
      if (!o.follow) return;
      let pos = size;
      let rest = '';
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const now = await stat(path).then((s) => s.size, () => 0);
        if (now < pos) pos = 0; // rotated: read the new file from its start
        if (now === pos) continue;
        const h = await open(path, 'r');
        const chunk = Buffer.alloc(Math.min(now - pos, 4 * 1024 * 1024));
        const { bytesRead } = await h.read(chunk, 0, chunk.length, pos);
        await h.close();
        pos += bytesRead;
        const text = rest + chunk.subarray(0, bytesRead).toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop()!;
        parts.filter((l) => l).forEach(print);
      }
    });
  return cmd;
}
