/**
 * JSON-RPC 2.0 messages as FlyMe speaks them: one UTF-8 JSON object per line.
 * Batches (JSON arrays) are refused with -32600: every request is one line and one response.
 */
import { isUtf8 } from 'node:buffer';
import { ERROR_CATALOG, FlyMeError, type FlyMeErrorCode } from '../errors.js';
import { ExactNumberId, mayLoseText, topLevelIdToken } from './exact-id.js';

export { ExactNumberId } from './exact-id.js';
/**
 * A request id: a string, a number whose shortest text is the text it was sent with, or an
 * ExactNumberId carrying the exact token of any other number (echoed byte for byte).
 */
export type JsonRpcId = string | number | ExactNumberId;
export type Params = Record<string, unknown>;

export interface RpcRequest {
  kind: 'request';
  id: JsonRpcId;
  method: string;
  params: unknown;
}
export interface RpcNotification {
  kind: 'notification';
  method: string;
  params: unknown;
}
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Record<string, unknown> & { code?: string };
}
export interface RpcResponse {
  kind: 'response';
  id: JsonRpcId | null;
  result?: unknown;
  error?: RpcErrorObject;
}
/** A line that could not be understood; `id` is known when the JSON parsed far enough. */
export interface RpcInvalid {
  kind: 'invalid';
  id: JsonRpcId | null;
  error: FlyMeError;
}
export type RpcMessage = RpcRequest | RpcNotification | RpcResponse | RpcInvalid;

function invalid(code: FlyMeErrorCode, message: string, id: JsonRpcId | null = null): RpcInvalid {
  return { kind: 'invalid', id, error: new FlyMeError(code, message) };
}

function validId(id: unknown): id is JsonRpcId {
  return (typeof id === 'string' && id.length <= 256) || (typeof id === 'number' && Number.isFinite(id)) || id instanceof ExactNumberId;
}

/** The id's text on the wire: a string or number as JSON, an exact id as the text it came with. */
export function idText(id: JsonRpcId | null): string {
  return typeof id === 'object' && id !== null ? id.text : JSON.stringify(id);
}

/** Parse one frame (without its newline) into a classified message. Never throws. */
export function parseFrame(frame: Buffer): RpcMessage {
  if (!isUtf8(frame)) return invalid('FLYME_INVALID_UTF8', 'Parse error: the line is not valid UTF-8');
  return parseText(frame.toString('utf8'));
}

/** Parse one frame already decoded from valid UTF-8 (LineSink.lineText). Never throws. */
export function parseText(text: string): RpcMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid('FLYME_PARSE_ERROR', 'Parse error: the line is not valid JSON');
  }
  // JSON.parse rounds numbers to doubles (and 1e400 to Infinity): an id that may not survive that is
  // re-read from the line's text. Strings and small safe integers never take this path.
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const msg = value as Record<string, unknown>;
    if (typeof msg.id === 'number' && mayLoseText(msg.id)) {
      const token = topLevelIdToken(text);
      if (token !== undefined && token !== String(msg.id)) msg.id = new ExactNumberId(token);
    }
  }
  return classify(value);
}

/** Classify an already-parsed JSON value. */
export function classify(value: unknown): RpcMessage {
  if (Array.isArray(value)) {
    return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: batches are not supported; send one request per line');
  }
  if (typeof value !== 'object' || value === null) {
    return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: a message must be a JSON object');
  }
  const msg = value as Record<string, unknown>;
  const hasId = Object.hasOwn(msg, 'id');
  const id = hasId && validId(msg.id) ? msg.id : null;
  if (msg.jsonrpc !== '2.0') return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "jsonrpc" must be "2.0"', id);
  if (hasId && msg.id !== null && !validId(msg.id)) {
    return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "id" must be a string or a number');
  }
  if (typeof msg.method === 'string') {
    if (msg.method.length === 0 || msg.method.length > 128) {
      return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "method" must be 1-128 characters', id);
    }
    const params = msg.params;
    if (params !== undefined && (typeof params !== 'object' || params === null)) {
      return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "params" must be an object or an array', id);
    }
    if (!hasId) return { kind: 'notification', method: msg.method, params };
    if (msg.id === null) return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "id" must not be null in a request');
    return { kind: 'request', id: msg.id as JsonRpcId, method: msg.method, params };
  }
  if (Object.hasOwn(msg, 'method')) return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: "method" must be a string', id);
  if (hasId && (Object.hasOwn(msg, 'result') || Object.hasOwn(msg, 'error'))) {
    const error = msg.error as RpcErrorObject | undefined;
    if (error !== undefined && (typeof error !== 'object' || error === null || typeof error.code !== 'number')) {
      return invalid('FLYME_PROTOCOL_ERROR', 'Invalid Response: "error" must be an object with a numeric code', id);
    }
    return { kind: 'response', id: msg.id === null ? null : (msg.id as JsonRpcId), result: msg.result, ...(error ? { error } : {}) };
  }
  return invalid('FLYME_INVALID_REQUEST', 'Invalid Request: missing "method"', id);
}

const NL = '\n';

export function encodeResult(id: JsonRpcId, result: unknown): string {
  return `{"jsonrpc":"2.0","id":${idText(id)},"result":${JSON.stringify(result)}}${NL}`;
}

export function encodeError(id: JsonRpcId | null, error: FlyMeError): string {
  return `{"jsonrpc":"2.0","id":${idText(id)},"error":${JSON.stringify(error.toRpcError())}}${NL}`;
}

export function encodeRequest(id: JsonRpcId, method: string, params?: unknown): string {
  return params === undefined
    ? `{"jsonrpc":"2.0","id":${idText(id)},"method":${JSON.stringify(method)}}${NL}`
    : `{"jsonrpc":"2.0","id":${idText(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}${NL}`;
}

export function encodeNotification(method: string, params?: unknown): string {
  return JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }) + NL;
}

/** Turn a wire error object into a FlyMeError (client side). Unknown codes map to FLYME_INTERNAL. */
export function errorFromWire(err: RpcErrorObject): FlyMeError {
  const data = { ...(err.data ?? {}) };
  const wireCode = typeof data.code === 'string' ? data.code : undefined;
  delete data.code;
  const code = wireCode && isCode(wireCode) ? wireCode : codeForNumber(err.code);
  return new FlyMeError(code, typeof err.message === 'string' ? err.message : 'error', { data });
}


function isCode(c: string): c is FlyMeErrorCode {
  return Object.hasOwn(ERROR_CATALOG, c);
}

function codeForNumber(n: number): FlyMeErrorCode {
  switch (n) {
    case -32700: return 'FLYME_PARSE_ERROR';
    case -32600: return 'FLYME_INVALID_REQUEST';
    case -32601: return 'FLYME_METHOD_NOT_FOUND';
    case -32602: return 'FLYME_INVALID_PARAMS';
    default: return 'FLYME_INTERNAL';
  }
}
