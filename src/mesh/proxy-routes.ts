/**
 * The routes a proxy configuration is generated from: the registry's live records grouped by SNI, every field
 * checked again (a name or address that reached a config file unchecked could inject configuration), sorted
 * so the same registry state always gives the same file.
 */
import { flymeError } from '../errors.js';
import { parseHostPort } from './dns-server.js';
import { canonicalName, checkAddress, isDnsName } from './names.js';

export interface Backend { address: string; port: number; name: string }
export interface SniRoute { sni: string; backends: Backend[] }

const compareBackends = (a: Backend, b: Backend) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port);

/**
 * @param records what the registry sent (Watch SNAPSHOT or Resolve).
 * @throws FlyMeError FLYME_PROTOCOL_ERROR when a record is not a valid registry record.
 */
export function routesBySni(records: ReadonlyArray<{ name: string; sni: string; address: string; port: number }>): SniRoute[] {
  const bySni = new Map<string, Map<string, Backend>>();
  for (const r of records) {
    const bad = (what: string) => flymeError('FLYME_PROTOCOL_ERROR', `the registry sent a record with ${what}: ${JSON.stringify(r).slice(0, 300)}`);
    const sni = canonicalName(String(r.sni || r.name));
    if (!isDnsName(sni)) throw bad('an SNI that is not a DNS name');
    if (!isDnsName(canonicalName(String(r.name)))) throw bad('a name that is not a DNS name');
    let address: string;
    try {
      address = checkAddress(r.address);
    } catch {
      throw bad('an address that is not an IP address');
    }
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) throw bad('a port outside 1-65535');
    let m = bySni.get(sni);
    if (!m) bySni.set(sni, (m = new Map()));
    m.set(`${address}|${r.port}`, { address, port: r.port, name: canonicalName(r.name) });
  }
  return [...bySni.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sni, m]) => ({ sni, backends: [...m.values()].sort(compareBackends) }));
}

/** A proxy's `--listen IP:PORT` (port 1-65535: a proxy's listener needs a known port). */
export function parseListen(text: string): { host: string; port: number } {
  const l = parseHostPort(text, '--listen');
  if (l.port < 1) throw flymeError('FLYME_INVALID_ADDRESS', `--listen "${text}": the port must be 1-65535`);
  return l;
}

/** A config-safe identifier for an SNI (DNS names have no `_`, so replacing dots keeps it unique). */
export const sniId = (sni: string): string => `sni_${sni.replaceAll('.', '_')}`;
