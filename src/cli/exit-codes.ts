/**
 * CLI exit codes: public contract (flyme, flyme-fake-client; README and docs/operations.md list them).
 * - 0 OK: done; for `flyme probe` / `flyme-fake-client`: every attack was refused, after a control succeeded.
 * - 1 ERROR: failed; for `probe` / `flyme-fake-client`: at least one attack was NOT refused.
 * - 2 USAGE: bad arguments or flags.
 * - 3 DENIED: the daemon refused the caller (permission, authentication, lockdown, token).
 * - 4 UNREACHABLE: no daemon reached (no socket, connection refused, timeout before an answer).
 * - 5 INCONCLUSIVE: `probe` / `flyme-fake-client` reached something but cannot prove the refusals: the control
 *   (the real client identity) was not admitted, or an attempt ended neither admitted nor refused.
 */
import { FlyMeError } from '../errors.js';

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, DENIED: 3, UNREACHABLE: 4, INCONCLUSIVE: 5 } as const;

/** One line per code, for `--help` texts. */
export const EXIT_HELP = 'Exit codes: 0 every attack refused (after the control identity was admitted), 1 an attack was NOT refused, 2 usage, 4 unreachable (nothing answered), 5 inconclusive (the control identity was not admitted, or an attempt was neither admitted nor refused).';

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof FlyMeError)) return EXIT.ERROR;
  switch (err.code) {
    case 'FLYME_PERMISSION_DENIED':
    case 'FLYME_UNAUTHENTICATED':
    case 'FLYME_SOCKET_ACCESS_DENIED':
    case 'FLYME_LOCKED_DOWN':
    case 'FLYME_TOKEN_INVALID':
    case 'FLYME_TOKEN_EXPIRED':
    case 'FLYME_TOKEN_REPLAYED':
    case 'FLYME_TOKEN_WRONG_AUDIENCE':
    case 'FLYME_TOKEN_WRONG_ISSUER':
    case 'FLYME_TOKEN_UNBOUND':
    case 'FLYME_ID_NOT_AUTHORIZED':
      return EXIT.DENIED;
    case 'FLYME_UNREACHABLE':
    case 'FLYME_CONNECTION_CLOSED':
    case 'FLYME_TOO_MANY_CONNECTIONS':
    case 'FLYME_SHUTTING_DOWN':
      return EXIT.UNREACHABLE;
    case 'FLYME_INVALID_ADDRESS':
      return EXIT.USAGE;
    default:
      return EXIT.ERROR;
  }
}
