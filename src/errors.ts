/**
 * FlyMe's single error catalog. Every failure FlyMe reports carries a stable string `code`
 * (`FLYME_*`); on the wire it travels as `error.data.code` next to the JSON-RPC numeric code.
 * Codes are never reused or renamed: they are public API (the table in docs/protocol.md, "Error codes", checked against this catalog by test/unit/errors-catalog.test.ts).
 */

/** code → [JSON-RPC numeric code, one-line meaning]. The order is the documentation order. */
export const ERROR_CATALOG = {
  // JSON-RPC 2.0 standard errors
  FLYME_PARSE_ERROR: [-32700, 'The line is not valid JSON.'],
  FLYME_INVALID_UTF8: [-32700, 'The line is not valid UTF-8.'],
  FLYME_INVALID_REQUEST: [-32600, 'The JSON is not a valid JSON-RPC 2.0 request (or is a batch, which FlyMe does not accept).'],
  FLYME_METHOD_NOT_FOUND: [-32601, 'No such method.'],
  FLYME_INVALID_PARAMS: [-32602, 'The params do not match the method schema; data.field names the bad field.'],
  FLYME_INTERNAL: [-32603, 'The server failed while handling the request; details are in its log.'],
  // FlyMe server errors (-32000..-32099 are reserved by JSON-RPC for implementation-defined server errors)
  FLYME_UNAUTHENTICATED: [-32001, 'The peer could not be identified (no kernel credentials, no valid certificate or token).'],
  FLYME_PERMISSION_DENIED: [-32002, 'The peer is identified but lacks the permission the method requires; data.permission names it.'],
  FLYME_NOT_FOUND: [-32003, 'The thing named in the params does not exist.'],
  FLYME_TIMEOUT: [-32004, 'The request (or the connection) took longer than its limit.'],
  FLYME_TOO_MANY_CONNECTIONS: [-32005, 'The server is at its connection limit; the connection is closed after this error.'],
  FLYME_FRAME_TOO_LARGE: [-32006, 'A line exceeded the maximum frame size; the connection is closed after this error.'],
  FLYME_SHUTTING_DOWN: [-32007, 'The server is shutting down and accepts no new requests.'],
  FLYME_TOO_MANY_REQUESTS: [-32008, 'Too many requests in flight on this connection.'],
  FLYME_LOCKED_DOWN: [-32009, 'The kill switch is engaged; only admins may call status and unlock.'],
  // Client-side and local errors (never sent by a server, but part of the same catalog)
  FLYME_UNREACHABLE: [-32050, 'Nothing answers at the address (socket missing, connection refused).'],
  FLYME_SOCKET_ACCESS_DENIED: [-32051, 'The operating system refused access to the socket file (EACCES/EPERM).'],
  FLYME_CONNECTION_CLOSED: [-32052, 'The connection closed before the response arrived.'],
  FLYME_PROTOCOL_ERROR: [-32053, 'The peer sent something that is not valid FlyMe wire protocol.'],
  FLYME_ADDRESS_IN_USE: [-32054, 'A live server already listens at the address, or a non-socket file is in the way.'],
  FLYME_INVALID_ADDRESS: [-32055, 'The listen/connect URL is malformed, uses an unsupported scheme, or may not be listened on (plain tcp:// beyond loopback).'],
  FLYME_INVALID_CONFIG: [-32056, 'A configuration value or file is invalid; the message names it.'],
  FLYME_NATIVE_UNAVAILABLE: [-32057, 'The native peer-credential addon is not built or not loadable.'],
  FLYME_FILE_EXISTS: [-32058, 'Refusing to overwrite an existing file without --force.'],
  // Identity
  FLYME_INVALID_SPIFFE_ID: [-32060, 'A SPIFFE ID breaks a rule of the SPIFFE ID specification; the message names the rule.'],
  FLYME_INVALID_CERTIFICATE: [-32061, 'A certificate or key cannot be parsed or breaks the X.509-SVID rules.'],
  FLYME_CERT_EXPIRED: [-32062, 'A certificate is expired or not yet valid.'],
  FLYME_UNTRUSTED_CERTIFICATE: [-32063, 'A certificate does not chain to a trusted root.'],
  FLYME_ID_NOT_AUTHORIZED: [-32064, "The peer's SPIFFE ID is not allowed by the authorizer."],
  FLYME_HANDSHAKE_FAILED: [-32065, 'The TLS handshake failed.'],
  // Tokens
  FLYME_TOKEN_INVALID: [-32070, 'The token is malformed, its signature or algorithm is not accepted, or a claim is missing.'],
  FLYME_TOKEN_EXPIRED: [-32071, 'The token is expired, not yet valid, or lives longer than the allowed maximum.'],
  FLYME_TOKEN_REPLAYED: [-32072, 'A one-time token (or its jti) was already used.'],
  FLYME_TOKEN_WRONG_AUDIENCE: [-32073, 'The token is for another audience.'],
  FLYME_TOKEN_WRONG_ISSUER: [-32074, 'The token comes from an issuer that is not trusted.'],
  FLYME_TOKEN_UNBOUND: [-32075, 'The token is bound to a certificate that the connection did not present.'],
  FLYME_TOKEN_CACHE_FULL: [-32076, 'The replay cache is full of unexpired tokens; new tokens are refused until entries expire.'],
  // pub/sub
  FLYME_MESSAGE_REJECTED: [-32080, 'A signed pub/sub message was refused; data.reason says why (bad-signature, stale, replayed, not-allowed, ...).'],
  // mesh
  FLYME_REGISTRY_FULL: [-32090, 'The service registry is at a limit (names, or records per name); data.limit names it.'],
} as const satisfies Record<string, readonly [number, string]>;

export type FlyMeErrorCode = keyof typeof ERROR_CATALOG;

const BRAND = Symbol.for('flyme.error');

export interface FlyMeErrorOptions {
  /** Extra machine-readable fields (e.g. `field`, `permission`). Never secrets. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error class of FlyMe. Switch on `err.code`; never parse `err.message`.
 * `instanceof FlyMeError` works across two installed copies of the package (branded).
 *
 * @example
 * try { await client.call('status') } catch (e) {
 *   if (e instanceof FlyMeError && e.code === 'FLYME_PERMISSION_DENIED') console.error(e.message)
 * }
 */
export class FlyMeError extends Error {
  readonly code: FlyMeErrorCode;
  readonly data: Record<string, unknown>;
  /** JSON-RPC numeric code used on the wire for this error. */
  readonly rpcCode: number;

  constructor(code: FlyMeErrorCode, message: string, options: FlyMeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlyMeError';
    this.code = code;
    this.data = options.data ?? {};
    this.rpcCode = ERROR_CATALOG[code][0];
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** The JSON-RPC `error` object for this error. */
  toRpcError(): { code: number; message: string; data: Record<string, unknown> } {
    return { code: this.rpcCode, message: this.message, data: { ...this.data, code: this.code } };
  }
}

export function isFlyMeErrorCode(value: unknown): value is FlyMeErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

/** Shorthand used across the code base. */
export function flymeError(code: FlyMeErrorCode, message: string, data?: Record<string, unknown>, cause?: unknown): FlyMeError {
  return new FlyMeError(code, message, { ...(data ? { data } : {}), ...(cause !== undefined ? { cause } : {}) });
}
