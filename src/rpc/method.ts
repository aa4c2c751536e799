/** Method definitions: a params schema (compiled once), a required permission, a handler. */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { flymeError } from '../errors.js';
import type { Principal } from '../auth/principal.js';

/** The caller's connection, for long-lived methods (subscriptions). */
export interface ConnectionHandle {
  readonly id: number;
  readonly closed: boolean;
  /** Bytes written to the socket but not yet taken by the peer. */
  bufferedBytes(): number;
  /** Exempt the connection from the idle timeout (a subscriber waits quietly). */
  keepAlive(on: boolean): void;
  /** Called once when the connection closes (immediately if it already has). */
  onClose(fn: () => void): void;
  /** Close the connection after what is queued has been written. */
  close(): void;
}

export interface CallContext {
  principal: Principal;
  /** Connection id, unique per server. */
  connectionId: number;
  /** Send a notification to this caller's connection. Returns false if the connection is gone. */
  notify(method: string, params?: unknown): boolean;
  signal: AbortSignal;
  connection: ConnectionHandle;
  /** DER of the verified client certificate on mTLS connections (for RFC 8705 token binding). */
  clientCertDer?: Uint8Array;
}

export interface MethodDefinition<S extends TSchema = TSchema> {
  name: string;
  params: S;
  /** Permission the caller must hold; by convention the method name. */
  permission: string;
  /** Report every allowed call as a `privileged_call` security event (audit trail). */
  privileged?: boolean;
  handler(params: Static<S>, ctx: CallContext): unknown | Promise<unknown>;
}

export interface CompiledMethod {
  def: MethodDefinition;
  check: TypeCheck<TSchema>;
}

export function compileMethod(def: MethodDefinition): CompiledMethod {
  if (!/^[A-Za-z][A-Za-z0-9_.]{0,127}$/.test(def.name)) throw new TypeError(`invalid method name ${def.name}`);
  return { def, check: TypeCompiler.Compile(def.params) };
}

/** Validate params (absent params = {}); throws FLYME_INVALID_PARAMS naming the first bad field. */
export function validateParams(m: CompiledMethod, params: unknown): unknown {
  const value = params === undefined ? {} : params;
  if (m.check.Check(value)) return value;
  const first = m.check.Errors(value).First();
  const field = first?.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : '';
  const where = field ? `params.${field}` : 'params';
  throw flymeError('FLYME_INVALID_PARAMS', `Invalid params: ${where}: ${first?.message ?? 'does not match the schema'}`, {
    field: field || null,
  });
}
