/**
 * The upstreams of `flyme service`'s egress proxy from its flags: `--proxy-port P --upstream NAME` puts the
 * first upstream without `=PORT` on P, `--upstream NAME=PORT` pins one to its own local port.
 */
import { flymeError } from '../errors.js';
import { canonicalName, isDnsName } from './names.js';

export interface Upstream {
  /** The registry name of the upstream (lower case, no trailing dot); absent: an HTTP CONNECT proxy (the client names the upstream). */
  name?: string;
  /** The local (loopback) port its plain proxy listens on. */
  port: number;
}

function localPort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw flymeError('FLYME_INVALID_CONFIG', `${what}: port "${text.slice(0, 40)}" is not in 1-65535`, { port: text.slice(0, 40) });
  }
  return Number(text);
}

/**
 * Parses `--proxy-port` and the `--upstream NAME[=PORT]` flags (in order).
 * @throws FlyMeError FLYME_INVALID_CONFIG naming the flag: a bad name or port, an upstream without a port
 *   (none left for `--proxy-port`), the same name or port twice. A `--proxy-port` no upstream takes is an HTTP
 *   CONNECT proxy (`{ port }` without a name).
 * @example parseUpstreams(15001, ['service-b.example.org', 'db.example.org=15002'])
 */
export function parseUpstreams(proxyPort: number | undefined, upstreams: readonly string[]): Upstream[] {
  if (proxyPort !== undefined) localPort(String(proxyPort), '--proxy-port');
  const out: Upstream[] = [];
  let proxyUsed = false;
  for (const flag of upstreams) {
    const eq = flag.indexOf('=');
    const rawName = eq < 0 ? flag : flag.slice(0, eq);
    const name = canonicalName(rawName);
    if (!isDnsName(name)) {
      throw flymeError('FLYME_INVALID_CONFIG', `--upstream ${flag.slice(0, 300)}: "${rawName.slice(0, 300)}" is not a DNS name (the upstream's registry name, e.g. service-b.example.org)`, { upstream: flag.slice(0, 300) });
    }
    let port: number;
    if (eq >= 0) {
      port = localPort(flag.slice(eq + 1), `--upstream ${name}`);
    } else if (proxyPort !== undefined && !proxyUsed) {
      port = proxyPort;
      proxyUsed = true;
    } else {
      const why = proxyPort === undefined ? 'no --proxy-port was given' : `--proxy-port ${proxyPort} already serves ${out.find((u) => u.port === proxyPort)?.name ?? 'another upstream'}`;
      throw flymeError('FLYME_INVALID_CONFIG', `--upstream ${name} has no local port (${why}): use --upstream ${name}=PORT`, { upstream: name });
    }
    const sameName = out.find((u) => u.name === name);
    if (sameName) throw flymeError('FLYME_INVALID_CONFIG', `--upstream ${name} is given twice (each upstream gets one local port)`, { upstream: name });
    const samePort = out.find((u) => u.port === port);
    if (samePort) throw flymeError('FLYME_INVALID_CONFIG', `--upstream ${name} and --upstream ${samePort.name} both use local port ${port}`, { upstream: name, port });
    out.push({ name, port });
  }
  // --proxy-port without an upstream of its own: an HTTP CONNECT proxy there (the client names the upstream).
  if (proxyPort !== undefined && !proxyUsed) {
    const clash = out.find((u) => u.port === proxyPort);
    if (clash) throw flymeError('FLYME_INVALID_CONFIG', `--proxy-port ${proxyPort} and --upstream ${clash.name} both use local port ${proxyPort}`, { port: proxyPort });
    out.push({ port: proxyPort });
  }
  return out;
}
