/**
 * `flyme doctor`: checks a local installation and says what to fix — the socket (exists, is a socket,
 * modes), the daemon (answers, clock skew), the client certificates (present, key 0600, matching, valid,
 * chaining to root-ca.pem) and the policy file (owner, mode, valid as flymed loads it, a WARN when no binding
 * grants admin). Exit 1 on any FAIL; WARNs keep exit 0.
 */
import { lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { FlyMeError } from '../errors.js';
import { connect } from '../rpc/client.js';
import { parseAddress, unixSocketPath } from '../transport/address.js';
import { checkPolicy } from './policy-checks.js';
import { loadSvid } from '../identity/svid.js';
import { loadTrustBundle } from '../identity/trust-bundle.js';
import { verifyChain } from '../identity/verify.js';
import { checkCertExpiry, checkPolicyFile, checkPrivateKey, checkSocket, type Finding } from '../daemon/self-audit/checks.js';
import { dialDaemon } from './dial.js';
import { defaultCertsDir } from './certs.js';

type Status = 'OK' | 'WARN' | 'FAIL';
export interface Check { status: Status; what: string; fix?: string }

export interface DoctorTarget { url: string; certs?: string | undefined; serverId?: string | undefined; timeoutMs: number; policy: string }

const fromFinding = (f: Finding, fix?: string): Check => ({
  status: f.severity === 'critical' ? 'FAIL' : f.severity === 'warning' ? 'WARN' : 'OK',
  what: f.message,
  ...(f.severity !== 'info' && (fix ?? f.fix) ? { fix: fix ?? `chmod ${f.fix!.mode.toString(8)} ${f.fix!.path}` } : {}),
});

async function socketChecks(t: DoctorTarget): Promise<Check[]> {
  const a = parseAddress(t.url);
  if (a.kind !== 'unix') return [{ status: 'OK', what: `${t.url} is not a socket file (${a.kind}); file checks skipped` }];
  const path = unixSocketPath(a);
  const s = await lstat(path).catch(() => undefined);
  if (!s) return [{ status: 'FAIL', what: `no socket at ${path}`, fix: 'start flymed (is it running? does it listen there?) or pass --connect' }];
  if (!s.isSocket()) return [{ status: 'FAIL', what: `${path} exists but is not a socket`, fix: 'remove or move that file; flymed never replaces a non-socket' }];
  // The daemon created the socket: its owner is the daemon's uid, which may own the directory too.
  return (await checkSocket(path, 0o660, { trustedUids: [s.uid] })).map((f) => fromFinding(f));
}

async function daemonChecks(t: DoctorTarget): Promise<Check[]> {
  try {
    const socket = await dialDaemon(t);
    const client = await connect(t.url, { socket, callTimeoutMs: t.timeoutMs });
    try {
      const sent = Date.now();
      const r = await client.call<{ time: string }>('whoami').then(() => client.call<{ time: string }>('ping', { message: 'doctor' }));
      const rtt = Date.now() - sent;
      const skew = new Date(r.time).getTime() - (sent + rtt / 2);
      const out: Check[] = [{ status: 'OK', what: `flymed answers at ${t.url} (round trip ${rtt} ms)` }];
      out.push(Math.abs(skew) > 5000
        ? { status: 'WARN', what: `clock skew of ${(skew / 1000).toFixed(1)} s between this machine and the daemon`, fix: 'sync clocks (chrony/systemd-timesyncd): certificates and tokens are time-checked' }
        : { status: 'OK', what: `clock skew ${Math.abs(skew)} ms` });
      return out;
    } finally {
      await client.close();
    }
  } catch (e) {
    const err = e as FlyMeError;
    if (err.code === 'FLYME_PERMISSION_DENIED') return [{ status: 'OK', what: `flymed answers at ${t.url} (you may not call ping: ${err.message})` }];
    return [{ status: 'FAIL', what: `cannot talk to flymed at ${t.url}: ${err.message}`, fix: err.code === 'FLYME_SOCKET_ACCESS_DENIED' ? 'ask for a group with access to the socket (flymed --socket-group)' : 'start flymed, or check --connect/--certs' }];
  }
}

/** Is something listening at the daemon's address (a socket file that exists, or any non-file address)? */
async function daemonMayRun(url: string): Promise<boolean> {
  const a = parseAddress(url);
  if (a.kind !== 'unix') return true;
  return (await lstat(unixSocketPath(a)).catch(() => undefined))?.isSocket() === true;
}

async function certChecks(dir: string, daemonRuns: boolean): Promise<Check[]> {
  const cert = join(dir, 'client.pem');
  const key = join(dir, 'client.key.pem');
  const ca = join(dir, 'root-ca.pem');
  const missing = [cert, key, ca].filter((f) => !existsSync(f));
  // A running daemon trusts only its own CA: a new CA from `certs init` would be refused by it.
  if (missing.length) {
    return [{
      status: 'FAIL', what: `missing ${missing.join(', ')}`,
      fix: daemonRuns
        ? `a daemon is running with its own CA: copy root-ca.pem and a client certificate issued by that CA into ${dir}, or issue one where the CA key is: flyme certs issue --ca <the daemon's certs dir> --spiffe-id spiffe://<trust domain>/client --out ${join(dir, 'client')} (not certs init: the daemon would not trust a new CA)`
        : `flyme certs init --dir ${dir} creates a CA and server/client certificates (then start flymed with --certs ${dir}), or copy your client certificate there`,
    }];
  }
  const out: Check[] = [...(await checkPrivateKey(key)).map((f) => fromFinding(f)), ...(await checkCertExpiry(cert)).map((f) => fromFinding(f, 'flyme certs issue a new one')), ...(await checkCertExpiry(ca)).map((f) => fromFinding(f, 'rotate the CA'))];
  try {
    const svid = await loadSvid(cert, key);
    await verifyChain(svid.chain[0]!, svid.chain.slice(1), await loadTrustBundle(ca));
    out.push({ status: 'OK', what: `${cert} (${svid.spiffeId.toString()}) matches its key and chains to ${ca}` });
  } catch (e) {
    out.push({ status: 'FAIL', what: `${cert}: ${(e as Error).message}`, fix: 'reissue the client certificate from the CA in root-ca.pem (flyme certs issue)' });
  }
  return out;
}

async function policyChecks(path: string): Promise<Check[]> {
  if (!existsSync(path)) return [{ status: 'OK', what: `no policy file at ${path}: flymed uses the built-in policy (uid 0 and its own uid are admins)` }];
  const out = (await checkPolicyFile(path)).map((f) => fromFinding(f, f.id.startsWith('policy-owner') ? `chown root:root ${path}` : undefined));
  try {
    const { policy: p, warnings } = await checkPolicy(path);
    out.push({ status: 'OK', what: `${path} is valid (${Object.keys(p.document.roles).length} roles, ${p.document.bindings?.length ?? 0} bindings, ${p.issuers.length} token issuers)` });
    for (const w of warnings) out.push({ status: 'WARN', what: `${path}: ${w.message}`, fix: `${w.fix}, then flyme policy check ${path}` });
  } catch (e) {
    out.push({ status: 'FAIL', what: (e as Error).message, fix: `edit ${path}, then flyme policy check ${path} and flyme reload-policy` });
  }
  return out;
}

export async function runDoctor(t: DoctorTarget): Promise<Check[]> {
  const tls = parseAddress(t.url).tls;
  return [
    ...await socketChecks(t),
    ...(tls || t.certs ? await certChecks(t.certs ?? defaultCertsDir(), await daemonMayRun(t.url)) : []),
    ...await daemonChecks(t),
    ...await policyChecks(t.policy),
  ];
}

export function doctorCommand(globals: () => Omit<DoctorTarget, 'policy'> & { json: boolean }) {
  return new Command('doctor')
    .description('check a local FlyMe installation (socket, daemon, certificates, clock, policy) and say what to fix; exit 1 on any FAIL')
    .option('--policy <file>', 'policy file to check', '/etc/flyme/policy.yaml')
    .action(async (o) => {
      const g = globals();
      const checks = await runDoctor({ ...g, policy: o.policy });
      if (g.json) process.stdout.write(JSON.stringify({ ok: !checks.some((c) => c.status === 'FAIL'), checks }) + '\n');
      else for (const c of checks) process.stdout.write(`${c.status.padEnd(4)}  ${c.what}${c.fix ? `\n      fix: ${c.fix}` : ''}\n`);
      if (checks.some((c) => c.status === 'FAIL')) process.exitCode = 1;
    });
}
