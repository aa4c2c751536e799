/** Small promise helpers over grpc-js clients, with a deadline on every call. */
import * as grpc from '@grpc/grpc-js';
import { flymeError, type FlyMeError } from '../errors.js';

type UnaryMethod = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;

/** A ServiceError as a FlyMeError (PERMISSION_DENIED → FLYME_PERMISSION_DENIED, …), details kept. */
export function fromGrpcError(err: grpc.ServiceError, what: string): FlyMeError {
  const code =
    err.code === grpc.status.PERMISSION_DENIED ? 'FLYME_PERMISSION_DENIED'
    : err.code === grpc.status.UNAUTHENTICATED ? 'FLYME_UNAUTHENTICATED'
    : err.code === grpc.status.NOT_FOUND ? 'FLYME_NOT_FOUND'
    : err.code === grpc.status.ALREADY_EXISTS ? 'FLYME_FILE_EXISTS'
    : err.code === grpc.status.INVALID_ARGUMENT ? 'FLYME_INVALID_PARAMS'
    : err.code === grpc.status.DEADLINE_EXCEEDED ? 'FLYME_TIMEOUT'
    : err.code === grpc.status.UNAVAILABLE ? 'FLYME_UNREACHABLE'
    : 'FLYME_INTERNAL';
  return flymeError(code, `${what}: ${err.details || grpc.status[err.code]}`, { grpcCode: grpc.status[err.code] });
}

/** Calls a unary method; rejects with a FlyMeError. */
export function callUnary<T>(client: grpc.Client, method: string, req: object, o: { timeoutMs?: number; metadata?: grpc.Metadata } = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (!fn) { reject(new TypeError(`no method ${method}`)); return; }
    fn.call(client, req, o.metadata ?? new grpc.Metadata(), { deadline: Date.now() + (o.timeoutMs ?? 10_000) }, (err, res) => {
      if (err) reject(fromGrpcError(err, method));
      else resolve(res as T);
    });
  });
}

/** FlyMe URL → grpc-js target: `tls://h:p` → `h:p`, `unix+tls:///p` / `unix:///p` → `unix:///p`. */
export function grpcTarget(url: string): string {
  if (url.startsWith('tls://')) return url.slice('tls://'.length);
  if (url.startsWith('unix+tls://')) return `unix://${url.slice('unix+tls://'.length)}`;
  return url;
}
