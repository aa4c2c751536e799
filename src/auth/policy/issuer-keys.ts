/**
 * Opening a policy's token issuers: every issuer's JWKS file must exist and parse, and no issuer may be named
 * twice. flymed does this before it applies a policy (daemon/tokens.ts stages the result); `flyme policy check`
 * does the very same offline, so a file that passes the check is one the daemon loads.
 */
import { flymeError, FlyMeError } from '../../errors.js';
import type { JwtAlgorithm } from '../jwt/algorithms.js';
import { JwksFileSource } from '../jwt/jwks-source.js';
import type { TrustedIssuer } from './schema.js';

export interface OpenedIssuer {
  config: TrustedIssuer;
  algorithms: JwtAlgorithm[];
  /** The issuer's key set, watched; close it (or {@link closeIssuerKeys}) when done. */
  keys: JwksFileSource;
}

export interface OpenIssuerKeysOptions {
  /** JWKS stat polling (default 2000 ms; 0: fs.watch only). */
  pollIntervalMs?: number;
  onReload?(iss: string, kids: readonly string[]): void;
  onInvalid?(iss: string, e: FlyMeError): void;
}

/** Default algorithms of an issuer entry without `algorithms`. */
export const DEFAULT_ISSUER_ALGORITHMS: JwtAlgorithm[] = ['ES256', 'EdDSA'];

/**
 * Open every issuer's JWKS. Throws FLYME_INVALID_CONFIG (or the JWKS error's code) naming the issuer, opening
 * nothing, when an issuer is configured twice or its JWKS file is missing or invalid.
 */
export async function openIssuerKeys(configs: readonly TrustedIssuer[], o: OpenIssuerKeysOptions = {}): Promise<Map<string, OpenedIssuer>> {
  const seen = new Set<string>();
  for (const c of configs) {
    if (seen.has(c.iss)) throw flymeError('FLYME_INVALID_CONFIG', `token issuer "${c.iss}" is configured twice (policy issuers and --token-issuer)`);
    seen.add(c.iss);
  }
  const opened = new Map<string, OpenedIssuer>();
  try {
    for (const config of configs) {
      const algorithms = config.algorithms ?? DEFAULT_ISSUER_ALGORITHMS;
      const keys = await JwksFileSource.open(config.jwks, {
        algorithms,
        ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
        ...(o.onReload ? { onReload: (kids: readonly string[]) => o.onReload!(config.iss, kids) } : {}),
        ...(o.onInvalid ? { onInvalid: (e: FlyMeError) => o.onInvalid!(config.iss, e) } : {}),
      });
      opened.set(config.iss, { config, algorithms, keys });
    }
  } catch (e) {
    closeIssuerKeys(opened);
    const err = e instanceof FlyMeError ? e : flymeError('FLYME_INVALID_CONFIG', String(e));
    throw flymeError(err.code, `token issuer ${JSON.stringify(configs[opened.size]?.iss ?? '?')}: ${err.message}`, err.data);
  }
  return opened;
}

export function closeIssuerKeys(issuers: ReadonlyMap<string, OpenedIssuer>): void {
  for (const i of issuers.values()) i.keys.close();
}
