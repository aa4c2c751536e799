/** `flyme`: the client library. */
export { connect, Client, type ClientOptions, type CallOptions, type Notification } from './rpc/client.js';
export { FlyMeError, type FlyMeErrorCode } from './errors.js';
