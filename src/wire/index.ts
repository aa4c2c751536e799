/** `flyme/wire`: bounded NDJSON framing and JSON-RPC 2.0 messages (curated public surface, listed in docs/api.md). */
export { LineDecoder, DEFAULT_MAX_FRAME_BYTES, type LineSink } from './framing.js';
export {
  parseFrame, classify, encodeResult, encodeError, encodeRequest, encodeNotification, errorFromWire, ExactNumberId,
  type RpcMessage, type RpcRequest, type RpcNotification, type RpcResponse, type RpcInvalid, type RpcErrorObject,
  type JsonRpcId, type Params,
} from './jsonrpc.js';
