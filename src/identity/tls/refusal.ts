/** Why a TLS connection was refused, as a stable reason and a FlyMeError with a specific catalog code. */
import { FlyMeError, flymeError, type FlyMeErrorCode } from '../../errors.js';

/** Why a TLS connection was refused (`err.data.reason`). */
export type TlsRefusalReason =
  | 'no-certificate' | 'unknown-ca' | 'expired' | 'revoked' | 'id-not-authorized' | 'tls-version' | 'timeout' | 'invalid-certificate' | 'handshake';

const OPENSSL_REASONS: ReadonlyArray<[RegExp, TlsRefusalReason]> = [
  [/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED|NO_CERTIFICATE/i, 'no-certificate'],
  [/UNSUPPORTED_PROTOCOL|WRONG_VERSION|VERSION_TOO_LOW|VERSION_TOO_HIGH|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE/i, 'tls-version'],
  [/CERT_HAS_EXPIRED|CERTIFICATE_EXPIRED|CERT_NOT_YET_VALID/i, 'expired'],
  [/UNKNOWN_CA|UNABLE_TO_GET_ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY_LEAF|CERTIFICATE_VERIFY_FAILED|BAD_CERTIFICATE/i, 'unknown-ca'],
];

/** Maps an OpenSSL / Node TLS error (its `code`, `reason` or message) to a refusal reason. */
export function tlsErrorReason(err: { code?: string; reason?: string; message?: string }): TlsRefusalReason {
  const text = `${err.code ?? ''} ${err.reason ?? ''} ${err.message ?? ''}`.replace(/ /g, '_');
  for (const [re, reason] of OPENSSL_REASONS) if (re.test(text)) return reason;
  return 'handshake';
}

/** A FlyMeError for a refusal; keeps a specific catalog code when there is one, adds `data.reason`. */
export function refusal(reason: TlsRefusalReason, message: string, cause?: unknown, extra: Record<string, unknown> = {}): FlyMeError {
  const code: FlyMeErrorCode =
    reason === 'timeout' ? 'FLYME_TIMEOUT'
    : reason === 'id-not-authorized' ? 'FLYME_ID_NOT_AUTHORIZED'
    : reason === 'unknown-ca' || reason === 'revoked' ? 'FLYME_UNTRUSTED_CERTIFICATE'
    : reason === 'expired' ? 'FLYME_CERT_EXPIRED'
    : reason === 'invalid-certificate' ? 'FLYME_INVALID_CERTIFICATE'
    : 'FLYME_HANDSHAKE_FAILED';
  return flymeError(code, message, { ...extra, reason }, cause);
}

/** Maps a FlyMeError from chain verification or an authorizer to a refusal. */
export function verificationRefusal(err: unknown, who: 'client' | 'server'): FlyMeError {
  if (!(err instanceof FlyMeError)) return refusal('handshake', `${who} certificate check failed: ${(err as Error)?.message ?? String(err)}`, err);
  const reason: TlsRefusalReason =
    err.code === 'FLYME_ID_NOT_AUTHORIZED' ? 'id-not-authorized'
    : err.code === 'FLYME_CERT_EXPIRED' ? 'expired'
    : err.code === 'FLYME_UNTRUSTED_CERTIFICATE' ? (err.data.reason === 'revoked' ? 'revoked' : 'unknown-ca')
    : err.code === 'FLYME_INVALID_CERTIFICATE' || err.code === 'FLYME_INVALID_SPIFFE_ID' ? 'invalid-certificate'
    : err.code === 'FLYME_UNAUTHENTICATED' ? 'no-certificate'
    : 'handshake';
  return refusal(reason, `${who} certificate refused: ${err.message}`, err, { ...err.data });
}

/**
 * What ends a handshake attempt when the connection fails (an error, an alert, a close) around FlyMe's own
 * verification of the peer; one rule for both sides (TlsServerUpgrader.upgrade, dialTls). Before the
 * verification starts, a failure ends the attempt at once. Once it has started, the first failure is kept and
 * the verification's verdict decides: a refused peer is refused for its certificate (a rogue that hangs up at
 * once is FLYME_ID_NOT_AUTHORIZED, not "closed during the handshake"), and an accepted peer whose connection
 * is gone fails with the kept failure.
 */
export class HandshakeLosses {
  #verifying = false;
  #lost: FlyMeError | undefined;

  /** `fail` ends the attempt; `closedDuring` is the refusal for a connection found gone. */
  constructor(private readonly fail: (err: FlyMeError) => void, private readonly closedDuring: () => FlyMeError) {}

  /** FlyMe's verification of the peer has started: failures from now on wait for its verdict. */
  verifying(): void {
    this.#verifying = true;
  }

  /** The connection failed: ends the attempt now, or (while verifying) is kept if it is the first. */
  lose(err: FlyMeError): void {
    if (this.#verifying) this.#lost ??= err;
    else this.fail(err);
  }

  /** The connection closed: {@link lose} with the `closedDuring` refusal. */
  closed(): void {
    this.lose(this.closedDuring());
  }

  /** A failure kept while verifying. */
  get lost(): FlyMeError | undefined {
    return this.#lost;
  }

  /** For a peer that verified: why the attempt fails all the same (a kept failure, or the socket gone), or undefined. */
  gone(socket: { readonly destroyed: boolean }): FlyMeError | undefined {
    return this.#lost ?? (socket.destroyed ? this.closedDuring() : undefined);
  }
}
