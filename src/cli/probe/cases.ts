/**
 * The attack zoo of `flyme probe`. Each case says `refused`, `NOT REFUSED`, `skipped` (with why) or
 * `inconclusive` (the attempt was neither admitted nor refused: not reached, no answer). Cases never change the
 * daemon's state: the "method not granted" case calls `unlock`, harmless when not locked down, and runs only
 * when the probe's identity is not an admin.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { parseAddress, unixSocketPath } from '../../transport/address.js';
import { createRootCA, issueSvidWithKey, loadCA, parseCertificates, spiffeIdFromCertificate, type CertificateAuthority } from '../../identity/index.js';
import type { FlyMeError } from '../../errors.js';
import { dialDaemon, type DialTarget } from '../dial.js';
import { RawConnection } from './raw.js';
import { errorCode, tlsAttempt, tlsConnection, type AttemptResult } from './tls-attempt.js';

export type Outcome = 'refused' | 'NOT REFUSED' | 'skipped' | 'inconclusive';
export interface CaseResult { name: string; outcome: Outcome; detail: string }

export interface ProbeContext extends DialTarget {
  token?: string | undefined;
  tokenIssuer: string;
  slowWaitMs: number;
  flood: number;
}

const refused = (name: string, detail: string): CaseResult => ({ name, outcome: 'refused', detail });
const notRefused = (name: string, detail: string): CaseResult => ({ name, outcome: 'NOT REFUSED', detail });
const skipped = (name: string, detail: string): CaseResult => ({ name, outcome: 'skipped', detail });
const inconclusive = (name: string, detail: string): CaseResult => ({ name, outcome: 'inconclusive', detail });

async function raw(c: ProbeContext): Promise<RawConnection> {
  return new RawConnection(await dialDaemon(c));
}

/** An attempt's outcome as a case: only a refusal by the daemon counts as refused. */
function fromAttempt(name: string, r: AttemptResult): CaseResult {
  if (r.outcome === 'admitted') return notRefused(name, `admitted: ${r.detail}`);
  if (r.outcome === 'refused') return refused(name, r.detail);
  return inconclusive(name, `${r.outcome}: ${r.detail}`);
}

/** Certificate cases (TLS addresses only). */
export async function tlsCases(c: ProbeContext): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  const certs = c.certs ?? '';
  const ownPem = await readFile(join(certs, 'client.pem'), 'utf8').catch(() => undefined);
  const td = ownPem ? spiffeIdFromCertificate(parseCertificates(ownPem)[0]!).trustDomain : 'flyme.local';
  const handshakeCase = async (name: string, creds: { cert?: string; key?: string }, extra = {}) => {
    out.push(fromAttempt(name, await tlsAttempt(c.url, creds, c.timeoutMs, extra)));
  };
  await handshakeCase('no client certificate', {});
  const other = await createRootCA({ trustDomain: td, days: 1 });
  const foreign = await issueSvidWithKey(other, { spiffeId: `spiffe://${td}/flyme-probe`, days: 1 });
  await handshakeCase(`certificate from another CA (${td})`, { cert: foreign.certPem, key: foreign.keyPem });
  const ca = await loadCA(certs).catch(() => undefined);
  if (!ca) {
    out.push(skipped('expired certificate', `needs the CA key (root-ca.key.pem in ${certs || '--certs'}) to mint one from the right CA`));
    out.push(skipped('SPIFFE ID not authorized', 'needs the CA key to mint a certificate with an ID no binding names'));
  } else {
    const now = Date.now();
    const expired = await issueSvidWithKey(ca, { spiffeId: `spiffe://${td}/flyme-probe/expired`, notBefore: new Date(now - 2 * 86400_000), notAfter: new Date(now - 86400_000) });
    await handshakeCase('expired certificate (right CA)', { cert: expired.certPem, key: expired.keyPem });
    out.push(await strangerCase(c, ca, td));
  }
  if (ownPem) {
    const [cert, key] = await Promise.all([readFile(join(certs, 'client.pem'), 'utf8'), readFile(join(certs, 'client.key.pem'), 'utf8')]);
    await handshakeCase('TLS 1.2 with a valid certificate', { cert, key }, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  } else out.push(skipped('TLS 1.2 with a valid certificate', `no client.pem in ${certs || '--certs'}`));
  return out;
}

const KERNEL_SOURCE = /^(uid|gid|daemon-uid):/;

/**
 * A certificate from the right CA with an ID no binding can name. Refused when the TLS authorizer refuses it,
 * or when it is admitted but granted nothing (status denied). NOT REFUSED when it may call status: through its
 * certificate (a binding on a prefix, e.g. the whole trust domain), or through the kernel identity of this
 * process when that holds no admin role (a binding on the probe's uid/gid grants every connection from it;
 * the probe is meant to run as a user without roles). Skipped only when this process's uid/gid is admin.
 */
async function strangerCase(c: ProbeContext, ca: CertificateAuthority, td: string): Promise<CaseResult> {
  const name = 'SPIFFE ID not authorized';
  const id = `spiffe://${td}/flyme-probe/unauthorized-${randomBytes(4).toString('hex')}`;
  const stranger = await issueSvidWithKey(ca, { spiffeId: id, days: 1 });
  const creds = { cert: stranger.certPem, key: stranger.keyPem };
  const first = await tlsAttempt(c.url, creds, c.timeoutMs);
  if (first.outcome !== 'admitted') return fromAttempt(name, first);
  let conn: RawConnection;
  try {
    conn = new RawConnection(await tlsConnection(c.url, creds, c.timeoutMs));
  } catch (e) {
    return inconclusive(name, `admitted once, then could not connect again: ${(e as Error).message}`);
  }
  try {
    const who = await conn.call(1, 'whoami', {}, c.timeoutMs);
    const st = await conn.call(2, 'status', {}, c.timeoutMs);
    if (!who && !st) return refused(name, 'the connection closed after the handshake, without a reply');
    const sources = (who?.result?.roleSources ?? {}) as Record<string, string>;
    const held = Object.entries(sources).map(([r, s]) => `${r} from ${s}`).join(', ') || 'none';
    const authz = (st?.result?.tls as { clientAuthorizer?: string } | undefined)?.clientAuthorizer;
    if (!st?.result) return refused(name, `${id} was admitted at TLS but granted nothing: status → ${st?.error?.data?.code ?? 'closed'} (roles: ${held})`);
    const viaCert = Object.entries(sources).filter(([, s]) => !KERNEL_SOURCE.test(s));
    if (viaCert.length > 0) {
      return notRefused(name, `${id}, an ID no binding names, was admitted${authz ? ` (TLS authorizer: ${authz})` : ''} and granted status through its certificate: ${viaCert.map(([r, s]) => `${r} from ${s}`).join(', ')}`);
    }
    if (Object.keys(sources).includes('admin')) {
      return skipped(name, `admitted at TLS; this process's own uid/gid holds ${held}, so status proves nothing: run flyme probe as a user without roles`);
    }
    return notRefused(name, `${id} was admitted and granted status through the kernel identity of this process (${held}): every connection from this uid/gid gets it whatever its certificate; run the probe as a user without roles, or narrow that binding`);
  } finally {
    conn.destroy();
  }
}

/** The control: the probe's own identity reaches the daemon and is answered (else nothing is proven). */
export async function controlCase(c: ProbeContext): Promise<{ ok: boolean; detail: string; unreachable: boolean }> {
  let conn: RawConnection;
  try {
    conn = await raw(c);
  } catch (e) {
    const err = e as FlyMeError;
    return { ok: false, unreachable: err.code === 'FLYME_UNREACHABLE' || err.code === 'FLYME_SOCKET_ACCESS_DENIED', detail: err.message };
  }
  try {
    const who = await conn.call(1, 'whoami', {}, c.timeoutMs);
    if (!who?.result) return { ok: false, unreachable: false, detail: `whoami was not answered (${who?.error?.data?.code ?? 'closed'})` };
    const roles = (who.result.roles as string[] | undefined) ?? [];
    return { ok: true, unreachable: false, detail: `the probe's own identity is answered (roles: ${roles.join(', ') || 'none'})` };
  } finally {
    conn.destroy();
  }
}

/** Wire and resource cases (every transport), over the probe's own valid identity. */
export async function wireCases(c: ProbeContext): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  {
    const name = 'garbage bytes';
    const conn = await raw(c);
    conn.send(Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x7d, 0x7b, 0x0a]));
    const l = await conn.line(c.timeoutMs);
    conn.destroy();
    const alive = await stillServing(c);
    if (!alive) out.push(notRefused(name, 'the daemon stopped answering after garbage'));
    else if (l?.includes('"result"')) out.push(notRefused(name, 'garbage got a result'));
    else out.push(refused(name, l ? `error ${errorCode(l)}; the daemon still serves` : 'connection closed; the daemon still serves'));
  }
  {
    const name = 'oversize frame (2 MiB without a newline)';
    const conn = await raw(c);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 32 && !conn.closed; i++) conn.send(chunk);
    const l = await conn.line(c.timeoutMs * 2);
    const closed = await conn.waitClosed(c.timeoutMs);
    conn.destroy();
    out.push(closed ? refused(name, `${l ? errorCode(l) : 'no error line'}, connection closed`) : notRefused(name, 'the daemon kept buffering a 2 MiB line'));
  }
  {
    const name = `slowloris (half a request held for up to ${Math.round(c.slowWaitMs / 1000)} s)`;
    const conn = await raw(c);
    const t0 = Date.now();
    conn.send('{"jsonrpc":"2.0","id":1,');
    const closed = await conn.waitClosed(c.slowWaitMs);
    conn.destroy();
    out.push(closed ? refused(name, `closed by the daemon after ${((Date.now() - t0) / 1000).toFixed(1)} s`) : notRefused(name, `still open after ${c.slowWaitMs / 1000} s (the daemon's idle timeout is longer, or absent)`));
  }
  out.push(await flood(c));
  return out;
}

async function stillServing(c: ProbeContext): Promise<boolean> {
  const conn = await raw(c).catch(() => undefined);
  if (!conn) return false;
  const r = await conn.call(1, 'whoami', {}, c.timeoutMs);
  conn.destroy();
  return r?.result !== undefined;
}

/** Open many plain connections at once: a limit must refuse some (closed at once by the daemon). */
async function flood(c: ProbeContext): Promise<CaseResult> {
  const name = `connection flood (${c.flood} connections)`;
  const a = parseAddress(c.url);
  const socks = await Promise.all(Array.from({ length: c.flood }, () => new Promise<RawConnection | undefined>((resolve) => {
    const s = a.kind === 'tcp' ? netConnect({ host: a.host, port: a.port }) : netConnect({ path: unixSocketPath(a) });
    const t = setTimeout(() => { s.destroy(); resolve(undefined); }, c.timeoutMs);
    s.once('connect', () => { clearTimeout(t); resolve(new RawConnection(s)); });
    s.once('error', () => { clearTimeout(t); resolve(undefined); });
  })));
  await new Promise((r) => setTimeout(r, Math.min(2000, c.timeoutMs)));
  const failed = socks.filter((s) => s === undefined || s.closed).length;
  socks.forEach((s) => s?.destroy());
  return failed > 0 ? refused(name, `${failed} of ${c.flood} refused or closed at once`) : notRefused(name, `all ${c.flood} held open: no connection limit below ${c.flood}`);
}

/** Authorization cases: need a non-admin identity (say so otherwise). */
export async function authzCases(c: ProbeContext): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  const conn = await raw(c);
  try {
    const who = await conn.call(1, 'whoami', {}, c.timeoutMs);
    const roles = (who?.result?.roles as string[] | undefined) ?? [];
    const admin = roles.includes('admin');
    const why = `the probe's identity holds admin (roles: ${roles.join(', ')}); run flyme probe as an unprivileged user or with a certificate without roles`;
    if (admin) {
      out.push(skipped('method not granted', why), skipped('path escape in list', why));
    } else {
      const r = await conn.call(2, 'unlock', {}, c.timeoutMs);
      const code = r?.error?.data?.code;
      out.push(r?.result ? notRefused('method not granted', `unlock was allowed for roles [${roles.join(', ')}]`) : refused('method not granted', `unlock → ${code ?? 'closed'}`));
      const escapes = ['/etc', '/root', '/proc/self/root/etc', '/tmp/../etc'];
      const served: string[] = [];
      let last = '';
      for (const [i, p] of escapes.entries()) {
        const l = await conn.call(10 + i, 'list', { paths: [p] }, c.timeoutMs);
        if (l?.error?.data?.code === 'FLYME_METHOD_NOT_FOUND') { last = 'method not present'; break; }
        if (l?.result) served.push(p);
        last = l?.error?.data?.code ?? 'closed';
      }
      out.push(last === 'method not present' ? skipped('path escape in list', 'the daemon has no list method')
        : served.length ? notRefused('path escape in list', `listed ${served.join(', ')} (check the list.roots of roles [${roles.join(', ')}])`)
        : refused('path escape in list', `${escapes.join(', ')} → ${last}`));
    }
  } finally {
    conn.destroy();
  }
  out.push(await forgedToken(c));
  out.push(await replayedToken(c));
  return out;
}

async function forgedToken(c: ProbeContext): Promise<CaseResult> {
  const name = 'forged token (signed by an unknown key)';
  const { privateKey } = await generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'ES256', kid: 'flyme-probe' })
    .setIssuer(c.tokenIssuer).setSubject('flyme-probe').setAudience('flymed').setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 300).setJti(`probe-${now}-${Math.random()}`)
    .sign(privateKey);
  const conn = await raw(c);
  const r = await conn.call(1, 'authenticate', { token: jwt }, c.timeoutMs);
  conn.destroy();
  const code = r?.error?.data?.code;
  if (code === 'FLYME_METHOD_NOT_FOUND') return skipped(name, 'the daemon has no authenticate method');
  return r?.result ? notRefused(name, 'a token signed by an unknown key was accepted') : refused(name, code ?? 'closed');
}

async function replayedToken(c: ProbeContext): Promise<CaseResult> {
  const name = 'replayed token (the same token on a second connection)';
  if (!c.token) return skipped(name, 'give a valid token with --token (it is spent by this case)');
  const first = await raw(c);
  const a = await first.call(1, 'authenticate', { token: c.token }, c.timeoutMs);
  if (!a?.result) {
    first.destroy();
    return skipped(name, `the given token was not accepted in the first place (${a?.error?.data?.code ?? 'closed'})`);
  }
  const second = await raw(c);
  const b = await second.call(1, 'authenticate', { token: c.token }, c.timeoutMs);
  first.destroy();
  second.destroy();
  return b?.result ? notRefused(name, 'the token was accepted twice') : refused(name, b?.error?.data?.code ?? 'closed');
}
