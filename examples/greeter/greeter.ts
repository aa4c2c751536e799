/** Loads proto/greeter.proto with @grpc/proto-loader (no code generation step). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const GREETER_PROTO = fileURLToPath(new URL('../../../proto/greeter.proto', import.meta.url));

export interface HelloRequest { name: string }
export interface HelloReply { message: string }
export interface SetGreetingRequest { greeting: string }
export interface SetGreetingReply { greeting: string }

export interface GreeterClient extends grpc.Client {
  SayHello(req: HelloRequest, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: HelloReply) => void): grpc.ClientUnaryCall;
  SetGreeting(req: SetGreetingRequest, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: SetGreetingReply) => void): grpc.ClientUnaryCall;
}

export function loadGreeter(): { service: grpc.ServiceDefinition; Client: new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => GreeterClient } {
  const def = loadSync(GREETER_PROTO, { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { flyme: { example: { Greeter: grpc.ServiceClientConstructor } } };
  const Greeter = pkg.flyme.example.Greeter;
  return { service: Greeter.service, Client: Greeter as unknown as new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => GreeterClient };
}

/** Role each Greeter method needs. */
export const GREETER_METHOD_ROLES = {
  '/flyme.example.Greeter/SayHello': ['greeter.read'],
  '/flyme.example.Greeter/SetGreeting': ['greeter.write'],
} as const;
