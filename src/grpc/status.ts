/** FlyMeError → gRPC status, for services FlyMe implements (CA, Workload API). */
import * as grpc from '@grpc/grpc-js';
import { FlyMeError } from '../errors.js';

export type GrpcStatusError = Partial<grpc.StatusObject> & { code: grpc.status; details: string };

/** The gRPC status for an error: permissions, not-found, bad input and the rest, never a stack trace. */
export function grpcError(err: unknown): GrpcStatusError {
  if (!(err instanceof FlyMeError)) return { code: grpc.status.INTERNAL, details: 'internal error' };
  const code =
    err.code === 'FLYME_PERMISSION_DENIED' || err.code === 'FLYME_ID_NOT_AUTHORIZED' ? grpc.status.PERMISSION_DENIED
    : err.code === 'FLYME_UNAUTHENTICATED' ? grpc.status.UNAUTHENTICATED
    : err.code === 'FLYME_NOT_FOUND' ? grpc.status.NOT_FOUND
    : err.code === 'FLYME_FILE_EXISTS' ? grpc.status.ALREADY_EXISTS
    : err.code.startsWith('FLYME_INVALID') ? grpc.status.INVALID_ARGUMENT
    : err.code === 'FLYME_CERT_EXPIRED' || err.code === 'FLYME_UNTRUSTED_CERTIFICATE' ? grpc.status.INVALID_ARGUMENT
    : err.code === 'FLYME_UNREACHABLE' ? grpc.status.UNAVAILABLE
    : err.code === 'FLYME_REGISTRY_FULL' ? grpc.status.RESOURCE_EXHAUSTED
    : grpc.status.INTERNAL;
  return { code, details: code === grpc.status.INTERNAL ? `internal error (${err.code})` : err.message };
}

/** Adapts an async unary handler: its result or its error (as a status) goes back to the caller. */
export function unary<Req, Res>(fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call).then((res) => callback(null, res), (err: unknown) => callback(grpcError(err) as grpc.ServiceError));
  };
}
