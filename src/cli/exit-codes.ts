/** CLI exit codes: public contract. */
import { FlyMeError } from '../errors.js';

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, DENIED: 3, UNREACHABLE: 4 } as const;

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
